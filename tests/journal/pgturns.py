"""A loopback TCP proxy in front of PostgreSQL that counts round trips ("turns").

A turn is the client speaking again after the server has answered: what a network hop
costs, whatever the driver's protocol messages (pipelined statements share one turn).
A test double of the network, not of the database: every byte goes to the real server.
"""

from __future__ import annotations

import selectors
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

__all__ = ["TurnCounter", "counting_proxy"]


class TurnCounter:
    """Turns seen on every connection through the proxy since the last ``reset``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._turns = 0

    def add(self) -> None:
        with self._lock:
            self._turns += 1

    def reset(self) -> None:
        with self._lock:
            self._turns = 0

    @property
    def turns(self) -> int:
        with self._lock:
            return self._turns


def _pump(
    client: socket.socket, server: socket.socket, counter: TurnCounter, stop: threading.Event
) -> None:
    sel = selectors.DefaultSelector()
    sel.register(client, selectors.EVENT_READ, server)
    sel.register(server, selectors.EVENT_READ, client)
    server_spoke = True  # the first bytes of a connection are a turn of their own
    try:
        while not stop.is_set():
            for key, _ in sel.select(timeout=0.2):
                src = key.fileobj
                assert isinstance(src, socket.socket)
                data = src.recv(65536)
                if not data:
                    return
                if src is client:
                    if server_spoke:
                        counter.add()
                        server_spoke = False
                else:
                    server_spoke = True
                key.data.sendall(data)
    except OSError:
        return
    finally:
        sel.close()
        client.close()
        server.close()


@contextmanager
def counting_proxy(url: str) -> Iterator[tuple[str, TurnCounter]]:
    """``url`` rewritten to pass through a counting proxy on 127.0.0.1, and its counter."""
    parts = urlsplit(url)
    target = (parts.hostname or "127.0.0.1", parts.port or 5432)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    counter = TurnCounter()
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def accept() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            server = socket.create_connection(target, timeout=10)
            for s in (client, server):
                s.settimeout(None)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            t = threading.Thread(target=_pump, args=(client, server, counter, stop), daemon=True)
            t.start()
            threads.append(t)

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    netloc = parts.netloc.rsplit("@", 1)
    user = f"{netloc[0]}@" if len(netloc) == 2 else ""
    query = parts.query + ("&" if parts.query else "") + "sslmode=disable"
    proxied = urlunsplit(
        (parts.scheme, f"{user}127.0.0.1:{port}", parts.path, query, parts.fragment)
    )
    try:
        yield proxied, counter
    finally:
        stop.set()
        listener.close()
        acceptor.join(timeout=5)
        for t in threads:
            t.join(timeout=5)
