"""What the ``paychannels serve`` tests share: a config file, the server as a real process,
bounded waits on HTTP, and a TCP path to PostgreSQL the test can cut (the journal
unreachable, for real: connections reset, new ones refused)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.loopback import free_port, pump

ROOT = Path(__file__).resolve().parents[2]
RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() resets the connection


def write_config(folder: Path, journal: str, port: int, channels: str, **extra: str) -> Path:
    """A ``paychannels.toml`` (owner-only) with the journal, channels and the server's address."""
    callbacks = {"listen": f'"127.0.0.1:{port}"', "prefix": '"/callbacks"', "workers": "1"}
    callbacks.update(extra)
    lines = [f'[journal]\nurl = "{journal}"\n', channels, "[callbacks]"]
    lines += [f"{k} = {v}" for k, v in callbacks.items()]
    path = folder / "paychannels.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def command(*args: str, env: dict[str, str] | None = None, log: Path) -> subprocess.Popen[bytes]:
    """``paychannels ARGS`` as a real process, its output in ``log``."""
    with log.open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "paychannels.cli.main", *args],
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=sink,
            stderr=sink,
        )


def wait_for(check: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds} s: {what}")


def get(url: str) -> httpx.Response | None:
    """One GET on a fresh connection (so each may reach another worker); None if refused."""
    try:
        return httpx.get(url, timeout=5)
    except httpx.TransportError:
        return None


def healthy(base: str, proc: subprocess.Popen[bytes] | None = None) -> bool:
    """``/healthz`` is 200 (fails at once when ``proc``, the server, has ended)."""
    assert proc is None or proc.poll() is None, f"the server ended with {proc.returncode}"
    reply = get(base + "/healthz")
    return reply is not None and reply.status_code == 200


def stop(proc: subprocess.Popen[bytes], seconds: float = 30) -> int:
    """SIGTERM, then the exit status (killed and failed when it outlives ``seconds``)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
        raise AssertionError(f"pid {proc.pid} did not end within {seconds} s of SIGTERM") from None


def refused(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) != 0


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Every sample of a scrape by metric name (the parser proves the text is valid)."""
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((sample.labels, sample.value))
    return out


class CuttablePath:
    """A TCP forwarder to PostgreSQL: ``cut()`` resets every connection and refuses new
    ones (the journal is unreachable); ``mend()`` listens again on the same port."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 5432)
        self.port = free_port()
        netloc = f"{parts.username}@127.0.0.1:{self.port}" if parts.username else None
        self.url = urlunsplit(parts._replace(netloc=netloc or f"127.0.0.1:{self.port}"))
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self.mend()

    def mend(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._open = self._open, []
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        for s in sockets:
            with contextlib.suppress(OSError):
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET)
                s.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self._target, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._open += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=pump, args=(a, b), daemon=True).start()
