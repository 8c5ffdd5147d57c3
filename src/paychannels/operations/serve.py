"""``paychannels serve``: the callback server of a deployment — N uvicorn workers, one socket.

The supervisor binds the listening socket once and starts each worker as a fresh
interpreter (``spawn``: nothing of the supervisor's crosses, so each worker opens its own
Collector from ``paychannels.toml`` — its own owner name and journal connections, see
architecture.md "A backend process's life"). The kernel hands each connection to one
worker; duplicate callbacks on two workers are serialised by the journal's row locks.

Shutdown (SIGTERM, or Ctrl-C): the supervisor closes its copy of the socket and passes
SIGTERM on; each worker's uvicorn stops accepting, lets the requests in hand finish (bounded
by ``drain``), then the app closes its Collector (calls in flight finish within the same
bound). A worker whose supervisor died stops by itself. A worker that dies is started again,
unless it died before it was ready (a journal or channel that will not open, uvicorn that
would not start): then the server stops, exit 1, rather than start it again forever. Ready
is a fact the worker reports (its Collector open, its app built), not a guess from time: a
slow start on a loaded machine is not a failed one.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType
from typing import Any

from paychannels.values.errors import ConfigurationError, PaychannelsError

__all__ = ["STARTUP_FAILED", "ServeOptions", "Supervisor", "require_uvicorn"]

log = logging.getLogger("paychannels.operations")

#: a worker's exit status when its Collector could not be opened (restarting cannot help)
STARTUP_FAILED = 3
_EXTRA = "paychannels serve runs under uvicorn: pip install 'paychannels[serve]'"
#: seconds a worker is given beyond ``drain`` before it is killed
_MARGIN = 5.0


def require_uvicorn() -> None:
    """Raise ``ConfigurationError`` naming the extra when uvicorn is not installed."""
    try:
        import uvicorn  # noqa: F401
    except ImportError:
        raise ConfigurationError(_EXTRA) from None


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """What every worker needs to build its app (picklable: it crosses ``spawn``)."""

    config: str
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    prefix: str = "/"
    db: str | None = None
    drain: float = 20.0
    log_level: str = "warning"
    log_format: str = "text"

    @property
    def url(self) -> str:
        """Where it listens, as a URL."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


class Supervisor:
    """Binds, starts ``options.workers`` workers, keeps them running until told to stop."""

    def __init__(self, options: ServeOptions) -> None:
        self.options = options
        self._context = multiprocessing.get_context("spawn")
        self._workers: list[BaseProcess] = []
        self._ready: list[Any] = []  # one multiprocessing Event per worker
        self._siblings: Path | None = None  # the workers' counters, made when serving
        self._socket: socket.socket | None = None

    def bind(self) -> socket.socket:
        """The listening socket (refused at once, a usage error, when the port is taken)."""
        family = socket.AF_INET6 if ":" in self.options.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.options.host, self.options.port))
        except OSError as exc:
            sock.close()
            raise ConfigurationError(
                f"cannot listen on {self.options.host}:{self.options.port}: {exc.strerror}"
            ) from None
        sock.listen(2048)
        sock.set_inheritable(True)
        self._socket = sock
        return sock

    def run(self, stop_requested: Callable[[float], bool]) -> int:
        """Serve until ``stop_requested(timeout)`` says so; 0 when every worker ended cleanly."""
        sock = self._socket or self.bind()
        self._siblings = Path(tempfile.mkdtemp(prefix="paychannels-serve-metrics-"))
        self._ready = [self._context.Event() for _ in range(self.options.workers)]
        self._workers = [self._start(sock, ready) for ready in self._ready]
        print(
            f"paychannels serve: callbacks, /healthz and /metrics on {self.options.url} "
            f"({self.options.workers} worker(s)); SIGTERM or Ctrl-C to stop",
            file=sys.stderr,
            flush=True,
        )
        while not stop_requested(0.2):
            failed = self._keep_alive(sock)
            if failed:
                self._stop(sock)
                return 1
        return self._stop(sock)

    def _start(self, sock: socket.socket, ready: Any) -> BaseProcess:
        ready.clear()
        process = self._context.Process(
            target=worker,
            args=(self.options, sock, os.getpid(), self._siblings, ready),
            name="paychannels-serve",
        )
        process.start()
        return process

    def _keep_alive(self, sock: socket.socket) -> bool:
        """Start again a worker that died; True when one could not start at all."""
        for i, process in enumerate(self._workers):
            if process.is_alive():
                continue
            code = process.exitcode
            if code == STARTUP_FAILED or not self._ready[i].is_set():
                log.error("a worker could not start (exit %s, see above); stopping", code)
                return True
            log.warning("worker %s ended (exit %s); starting another", process.pid, code)
            self._workers[i] = self._start(sock, self._ready[i])
        return False

    def _stop(self, sock: socket.socket) -> int:
        """Stop accepting, pass SIGTERM on, wait for the drain (bounded), kill what is left."""
        sock.close()
        for process in self._workers:
            if process.is_alive():
                process.terminate()  # SIGTERM: the worker's uvicorn drains
        deadline = time.monotonic() + self.options.drain + _MARGIN
        for process in self._workers:
            process.join(max(0.0, deadline - time.monotonic()))
        codes = []
        for process in self._workers:
            if process.is_alive():
                log.error("worker %s still running after the drain; killed", process.pid)
                process.kill()
                process.join(5)
            codes.append(process.exitcode)
        if self._siblings is not None:
            shutil.rmtree(self._siblings, ignore_errors=True)
        return 0 if all(code == 0 for code in codes) else 1


def worker(
    options: ServeOptions, sock: socket.socket, supervisor: int, siblings: Path, ready: Any
) -> None:
    """One worker process: its own Collector and app under uvicorn on the shared socket;
    its counters published to ``siblings``, the folder of the server's workers. ``ready``
    is set at the app's lifespan startup, before uvicorn takes a request (the supervisor
    then replaces this worker should it die)."""
    # uvicorn puts its own handlers in place while it serves and raises the signal again
    # once drained; these make that a no-op, so a drained worker exits 0
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _drained)
    import uvicorn

    from paychannels.collector import Collector
    from paychannels.observe import logs
    from paychannels.operations.scrape import metrics_for
    from paychannels.operations.service import ServiceApp

    logs.configure(options.log_level, options.log_format)
    try:
        collector = Collector.from_config(options.config, db=options.db)
    except PaychannelsError as exc:
        print(f"paychannels serve: error: {exc}", file=sys.stderr, flush=True)
        sys.exit(STARTUP_FAILED)
    app = ServiceApp(
        collector,
        metrics_for(collector, siblings),
        prefix=options.prefix,
        close_timeout=options.drain,
        on_started=ready.set,  # before uvicorn takes its first request: no race with a crash
    )
    config = uvicorn.Config(
        app,
        lifespan="on",
        access_log=False,
        log_config=None,  # uvicorn's records go through the same handler, text or JSON
        log_level=options.log_level,
        timeout_graceful_shutdown=math.ceil(options.drain),
    )
    server = uvicorn.Server(config)
    threading.Thread(
        target=_orphan_watch, args=(server, supervisor), name="supervisor-watch", daemon=True
    ).start()
    server.run(sockets=[sock])


def _drained(signum: int, frame: FrameType | None) -> None:
    del signum, frame


def _orphan_watch(server: Any, supervisor: int) -> None:
    """Stop serving (gracefully) once the supervisor is gone: no worker outlives it."""
    while os.getppid() == supervisor:
        time.sleep(0.5)
    server.should_exit = True
