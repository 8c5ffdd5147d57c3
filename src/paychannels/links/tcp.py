"""``tcp://host:port``: a link over a TCP socket (LAN terminals, simulators on 127.0.0.1).

Nagle is off (ZVT and its kin exchange many tiny messages that each wait for an answer).
A refused, unreachable or timed-out connect is a ``LinkConnectError``: nothing was sent.
"""

from __future__ import annotations

import contextlib
import ipaddress
import select
import socket
import time

from paychannels.links.base import DRAIN_LIMIT, Link, check_failed, remaining
from paychannels.values.errors import LinkClosed, LinkConnectError, LinkError, LinkTimeout

__all__ = ["TcpLink"]

#: seconds a write may wait for a peer that takes nothing (as the serial link's)
WRITE_TIMEOUT = 10.0


class TcpLink(Link):
    """A TCP client connection; see the module docstring."""

    def __init__(self, host: str, port: int, *, connect_timeout: float = 5.0) -> None:
        super().__init__(f"tcp://{host}:{port}")
        self.host = host
        self.port = port
        self.connect_timeout = connect_timeout
        self._sock: socket.socket | None = None
        self._family = _literal_family(host)

    @classmethod
    def from_socket(cls, sock: socket.socket) -> TcpLink:
        """An open link around an accepted connection (the server side of a simulator)."""
        host, port = sock.getpeername()[:2]
        link = cls(host, port)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        link._adopt(sock)
        return link

    def _adopt(self, sock: socket.socket) -> None:
        """Take an accepted, already connected socket as this link's own."""
        self._sock = sock
        self._opened()

    def open(self) -> None:
        if self._sock is not None:
            return
        try:
            sock = self._connect()
        except ConnectionRefusedError:
            raise LinkConnectError(
                f"{self.url}: connection refused (nothing listens there; is the device on and "
                "its ECR interface enabled on this port?)"
            ) from None
        except TimeoutError:
            raise LinkConnectError(
                f"{self.url}: no answer to the connect within {self.connect_timeout:g} s "
                "(wrong address, device off, or a firewall)"
            ) from None
        except OSError as exc:
            raise LinkConnectError(f"{self.url}: cannot connect: {exc.strerror or exc}") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        self._sock = sock
        self._opened()

    def _connect(self) -> socket.socket:
        """A connected socket; an IP address is dialled without the resolver (a terminal is
        dialled once a payment), a name through ``create_connection`` (every address)."""
        if self._family is None:
            return socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        sock = socket.socket(self._family, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.connect_timeout)
            sock.connect((self.host, self.port))
        except BaseException:
            sock.close()
            raise
        return sock

    @property
    def is_open(self) -> bool:
        return self._sock is not None

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

    def _write(self, data: bytes) -> None:
        assert self._sock is not None
        view = memoryview(data)
        deadline = time.monotonic() + WRITE_TIMEOUT
        while view:
            try:
                sent = self._sock.send(view)
            except BlockingIOError:
                if not select.select([], [self._sock], [], remaining(deadline))[1]:
                    raise LinkError(
                        f"{self.url}: write timed out after {WRITE_TIMEOUT:g} s (the peer takes "
                        "nothing)"
                    ) from None
                continue
            except (BrokenPipeError, ConnectionResetError) as exc:
                self.close()
                raise LinkClosed(f"{self.url}: the peer closed the connection ({exc})") from None
            except OSError as exc:
                self.close()
                raise check_failed(self.url, "write", exc) from None
            self._written += sent
            view = view[sent:]

    def _read(self, max_bytes: int, deadline: float) -> bytes:
        sock = self._sock
        assert sock is not None
        while (data := self._recv(sock, max_bytes)) is None:
            wait = remaining(deadline)
            if wait <= 0:
                raise LinkTimeout(f"{self.url}: nothing arrived before the deadline")
            ready, _, _ = select.select([sock], [], [], wait)
            if not ready and remaining(deadline) <= 0:
                raise LinkTimeout(f"{self.url}: nothing arrived before the deadline")
        return data

    def drain(self, *, limit: int = DRAIN_LIMIT) -> bytes:
        """``Link.drain`` without a timeout per call: the socket says at once that nothing
        waits (each ZVT command drains first, so once a payment)."""
        sock = self._sock
        if sock is None:
            raise LinkClosed(f"{self.url}: read on a closed link")
        out = bytearray()
        while len(out) < limit and (data := self._recv(sock, min(4096, limit - len(out)))):
            out += data
        return bytes(out)

    def _recv(self, sock: socket.socket, max_bytes: int) -> bytes | None:
        """1..max_bytes bytes that arrived, None if none did yet; a peer that closed or
        reset the connection is ``LinkClosed``."""
        try:
            data = sock.recv(max_bytes)
        except BlockingIOError:
            return None
        except ConnectionResetError:
            self.close()
            raise LinkClosed(f"{self.url}: connection reset by the peer") from None
        except OSError as exc:
            self.close()
            raise check_failed(self.url, "read", exc) from None
        if not data:
            self.close()
            raise LinkClosed(f"{self.url}: the peer closed the connection")
        return data

    def fileno(self) -> int:
        """The socket's descriptor (for ``select``)."""
        if self._sock is None:
            raise LinkError(f"{self.url} is closed")
        return self._sock.fileno()


def _literal_family(host: str) -> socket.AddressFamily | None:
    """The address family of an IP address written out (no scope), None for a name."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if "%" in host:
        return None  # a scoped IPv6 address: the resolver fills in the scope
    return socket.AF_INET if address.version == 4 else socket.AF_INET6
