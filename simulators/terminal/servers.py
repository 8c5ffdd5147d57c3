"""Where the simulated terminal listens: a TCP port and a pseudo-terminal (a real serial line).

``TcpServer`` accepts ECR connections on 127.0.0.1 and serves each with a ZVT session; a
power cycle closes them and stops listening until the power is back (connects are refused
meanwhile, as with a real terminal switched off). ``PtyServer`` opens a pty pair and speaks
serial-framed ZVT on the master; any serial client opens the slave path it prints. The
simulator keeps the slave open itself (raw mode), so clients may come and go.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import termios
import threading
import tty
from collections.abc import Callable
from typing import Any

from paychannels.links.base import Link, remaining
from paychannels.links.tcp import TcpLink
from paychannels.simulators.terminal.core import SimTerminal
from paychannels.simulators.terminal.zvt_front import ZvtSession
from paychannels.values.errors import LinkClosed, LinkError, LinkTimeout

__all__ = ["FdLink", "LineServer", "PtyServer", "TcpServer"]


#: serves one line until it closes: (link, stop, line_ok) -> None
LineServer = Callable[[Link, threading.Event, Callable[[], bool]], None]


class FdLink(Link):
    """A link on a file descriptor the caller owns (a pty master)."""

    def __init__(self, fd: int, url: str) -> None:
        super().__init__(url)
        self.fd = fd
        self._open = True
        os.set_blocking(fd, False)

    def open(self) -> None:
        self._open = True

    @property
    def is_open(self) -> bool:
        return self._open

    def close(self) -> None:
        self._open = False

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                sent = os.write(self.fd, view)
            except BlockingIOError:
                select.select([], [self.fd], [], 1.0)
                continue
            except OSError as exc:
                raise LinkClosed(f"{self.url}: write failed: {exc}") from None
            self._written += sent
            view = view[sent:]

    def _read(self, max_bytes: int, deadline: float) -> bytes:
        while True:
            ready, _, _ = select.select([self.fd], [], [], remaining(deadline))
            if not ready:
                raise LinkTimeout(f"{self.url}: nothing arrived before the deadline")
            try:
                data = os.read(self.fd, max_bytes)
            except BlockingIOError:
                continue
            except OSError as exc:
                raise LinkClosed(f"{self.url}: read failed: {exc}") from None
            if data:
                return data


class TcpServer:
    """A protocol over TCP (ZVT unless ``serve`` says otherwise); see the module docstring."""

    def __init__(
        self,
        terminal: SimTerminal,
        host: str,
        port: int,
        *,
        serve: LineServer | None = None,
        **session: Any,
    ) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the simulator listens on 127.0.0.1 only")
        self.terminal = terminal
        self.host = host
        self.port = port
        self.session = session
        self.serve: LineServer = serve or self._zvt
        self._stop = threading.Event()
        self._listener: socket.socket | None = None
        self._links: set[TcpLink] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> tuple[str, int]:
        """Bind and serve in the background; returns the address (port 0 picks one)."""
        self._listen()
        terminal_listeners = self.terminal.power_listeners
        terminal_listeners.append(self._power)
        self._thread = threading.Thread(target=self._accept, name="zvt-sim-tcp", daemon=True)
        self._thread.start()
        return self.host, self.port

    def _listen(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(8)
        self.port = sock.getsockname()[1]
        with self._lock:
            self._listener = sock

    def _power(self, on: bool) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            links = list(self._links)
        if not on:
            if listener is not None:
                # shut down first: a close alone leaves it listening while the accept thread's
                # select still holds it, and connects would land in its backlog
                with contextlib.suppress(OSError):
                    listener.shutdown(socket.SHUT_RDWR)
                listener.close()
            for link in links:
                link.close()
        elif not self._stop.is_set():
            self._listen()

    def _accept(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                listener = self._listener
            if listener is None:
                self._stop.wait(0.05)
                continue
            try:
                ready, _, _ = select.select([listener], [], [], 0.1)
                if not ready:
                    continue
                conn, _ = listener.accept()
            except (OSError, ValueError):
                continue
            link = TcpLink.from_socket(conn)
            with self._lock:
                self._links.add(link)
            threading.Thread(target=self._serve, args=(link,), daemon=True).start()

    def _zvt(self, link: Link, stop: threading.Event, line_ok: Callable[[], bool]) -> None:
        ZvtSession(self.terminal, link, "tcp", stop=stop, **self.session).serve()

    def _serve(self, link: TcpLink) -> None:
        try:
            self.serve(link, self._stop, lambda: True)
        finally:
            link.close()
            with self._lock:
                self._links.discard(link)

    def close(self) -> None:
        self._stop.set()
        self._power(False)
        if self._power in self.terminal.power_listeners:
            self.terminal.power_listeners.remove(self._power)
        if self._thread is not None:
            self._thread.join(timeout=2)


class PtyServer:
    """A protocol on a pseudo-terminal (serial ZVT unless ``serve`` says otherwise); ``path``
    is the slave device to open.

    A pty carries bytes at any speed, but the line settings a client chose are visible
    here; when they differ from the terminal's (``baudrate``, ``stopbits``) the terminal
    hears and answers garbage, as a real one on a wrongly set line does.
    """

    def __init__(
        self,
        terminal: SimTerminal,
        *,
        baudrate: int = 9600,
        stopbits: int = 2,
        serve: LineServer | None = None,
        **session: Any,
    ) -> None:
        self.terminal = terminal
        self.session = session
        self.serve: LineServer = serve or self._zvt
        self.baudrate, self.stopbits = baudrate, stopbits
        self._speed = getattr(termios, f"B{baudrate}")
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        attrs = termios.tcgetattr(self._slave)  # the line starts at the terminal's settings
        attrs[4] = attrs[5] = self._speed
        attrs[2] = attrs[2] | termios.CSTOPB if stopbits == 2 else attrs[2] & ~termios.CSTOPB
        termios.tcsetattr(self._slave, termios.TCSANOW, attrs)
        self.path = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        self._thread = threading.Thread(target=self._run, name="zvt-sim-pty", daemon=True)
        self._thread.start()
        return self.path

    def _zvt(self, link: Link, stop: threading.Event, line_ok: Callable[[], bool]) -> None:
        ZvtSession(
            self.terminal, link, "serial", stop=stop, line_ok=line_ok, **self.session
        ).serve()

    def _run(self) -> None:
        link = FdLink(self.master, f"pty://{self.path}")
        while not self._stop.is_set():
            with contextlib.suppress(LinkError):
                self.serve(link, self._stop, self.line_ok)
            link.open()

    def line_ok(self) -> bool:
        """Whether the client's line settings match the terminal's."""
        attrs = termios.tcgetattr(self._slave)
        two = bool(attrs[2] & termios.CSTOPB)
        return attrs[4] == self._speed and two == (self.stopbits == 2)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        for fd in (self.master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
