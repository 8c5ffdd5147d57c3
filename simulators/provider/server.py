"""A small threaded HTTP/1.1 server on 127.0.0.1 for the provider simulator.

Beyond answering, it can misbehave the ways networks do: drop a connection without an
answer (the request was or was not processed), answer slowly, and stop listening altogether
(``pause``: new connections are refused and open ones are cut, so a client provably sends
nothing) until ``resume`` binds the same port again.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from paychannels.security.verification import Headers

__all__ = ["DROP", "Request", "Response", "SimServer"]

log = logging.getLogger("paychannels.simulators.provider")

_MAX_BODY = 1 << 20
_MAX_LINE = 1024


@dataclass(frozen=True)
class Request:
    """One request as it arrived."""

    method: str
    target: str  # path with query, exactly as in the request line
    headers: Headers
    body: bytes

    @property
    def path(self) -> str:
        """The path without the query."""
        return urlsplit(self.target).path

    def query_string(self) -> str:
        """The raw query string (without ``?``)."""
        return urlsplit(self.target).query

    @property
    def query(self) -> dict[str, str]:
        """The query parameters (last value wins)."""
        return dict(parse_qsl(urlsplit(self.target).query, keep_blank_values=True))


@dataclass
class Response:
    """What to answer; ``drop`` closes the connection without answering."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    drop: bool = False
    delay: float = 0.0


DROP = Response(drop=True)
App = Callable[[Request], Response]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def setup(self) -> None:
        super().setup()
        # headers and body leave in two writes: without this, Nagle's algorithm and the
        # client's delayed ACK stall every keep-alive answer by ~40 ms
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def _serve(self) -> None:
        try:
            body = self._body()
        except _BadFraming as exc:
            self.close_connection = True
            self.send_error(exc.status, exc.reason)
            return
        request = Request(self.command, self.path, Headers(self.headers.items()), body)
        try:
            response = self.server.app(request)
        except Exception:  # a simulator bug must show, not hang the client
            log.exception("simulator failed on %s %s", self.command, self.path)
            response = Response(500, {"Content-Type": "text/plain"}, b"simulator error")
        if response.delay:
            time.sleep(response.delay)
        if response.drop:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.body:
            self.wfile.write(response.body)

    do_GET = do_POST = _serve  # noqa: N815 - stdlib naming

    def _body(self) -> bytes:
        """The request body however the client framed it (RFC 9112 6.3): chunked wins over
        a length; neither means no body. ``Expect: 100-continue`` is answered by the stdlib."""
        coding = (self.headers.get("Transfer-Encoding") or "").strip().lower()
        if coding:
            if coding.rsplit(",", 1)[-1].strip() != "chunked":
                raise _BadFraming(501, f"Transfer-Encoding {coding[:40]!r} not supported")
            return self._chunked()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise _BadFraming(400, "Content-Length is not a number") from None
        if length < 0:
            raise _BadFraming(400, "Content-Length is negative")
        if length > _MAX_BODY:
            raise _BadFraming(413, f"body over {_MAX_BODY} bytes")
        return self.rfile.read(length) if length else b""

    def _chunked(self) -> bytes:
        """A chunked body, its size bounded; trailer fields are read and dropped."""
        parts: list[bytes] = []
        size = 0
        while True:
            line = self.rfile.readline(_MAX_LINE)
            try:
                chunk = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BadFraming(400, "bad chunk size line") from None
            if chunk == 0:
                break
            size += chunk
            if size > _MAX_BODY:
                raise _BadFraming(413, f"body over {_MAX_BODY} bytes")
            parts.append(self.rfile.read(chunk))
            if self.rfile.readline(_MAX_LINE).strip():
                raise _BadFraming(400, "chunk longer than its size line")
        for _ in range(100):  # trailer section up to the empty line
            if not self.rfile.readline(_MAX_LINE).strip():
                break
        else:
            raise _BadFraming(400, "trailer section too long")
        return b"".join(parts)


class _BadFraming(Exception):
    """A request body the server cannot delimit: answered with ``status`` and closed."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, conn: socket.socket, alive: bool) -> None:
        with self._open_lock:
            if alive:
                self._open.add(conn)
            else:
                self._open.discard(conn)

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that gave up (a timeout fault, a closed connection) is not an error of
        the simulator: logged, not printed."""
        log.debug("connection from %s ended abruptly", client_address, exc_info=True)

    def cut_all(self) -> None:
        with self._open_lock:
            conns = list(self._open)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class SimServer:
    """Runs an ``App`` on 127.0.0.1 in background threads."""

    def __init__(self, app: App, *, host: str = "127.0.0.1", port: int = 0) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the provider simulator listens on loopback only")
        self._app = app
        self._host = host
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        """The port it listens on (chosen at start when 0 was asked)."""
        return self._port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{self._host}:{self._port}"

    def start(self) -> SimServer:
        """Listen and serve in a background thread."""
        with self._lock:
            if self._server is None:
                self._server = _Server((self._host, self._port), self._app)
                self._port = self._server.server_address[1]
                self._thread = threading.Thread(
                    target=self._server.serve_forever,
                    kwargs={"poll_interval": 0.05},
                    name=f"provider-sim:{self._port}",
                    daemon=True,
                )
                self._thread.start()
        return self

    def pause(self) -> None:
        """Stop listening and cut open connections: clients now get "connection refused"."""
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
            server.cut_all()

    def resume(self) -> None:
        """Listen again on the same port."""
        self.start()

    @property
    def paused(self) -> bool:
        """True while not listening."""
        return self._server is None

    def stop(self) -> None:
        """Stop for good."""
        self.pause()
