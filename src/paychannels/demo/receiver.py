"""The demo backend's callback endpoint: ``CallbackWSGI`` on 127.0.0.1, one thread a request.

The provider simulators deliver their notifications here, as WeChat Pay and Alipay would
to a county's backend; the Collector applies them exactly once.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from paychannels.callbacks import CallbackWSGI
from paychannels.collector import Collector

__all__ = ["Receiver"]

log = logging.getLogger("paychannels.demo")


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Requests are not logged (the journal has them)."""


class _Pooled(WSGIServer):
    """Requests handled by a fixed pool of threads: each thread keeps its own journal
    connection, so a thread per request would open one connection per callback."""

    def __init__(self, *args: Any, workers: int = 8, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="demo-callback")

    def process_request(self, request: Any, client_address: Any) -> None:
        self.pool.submit(self._handle, request, client_address)

    def _handle(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A provider that hung up early is logged, not printed."""
        log.debug("callback connection from %s failed", client_address, exc_info=True)

    def server_close(self) -> None:
        super().server_close()
        self.pool.shutdown(wait=True, cancel_futures=True)


class Receiver:
    """Serves ``POST /callbacks/<channel>`` for a Collector until closed."""

    def __init__(self, collector: Collector) -> None:
        self.app = CallbackWSGI(collector)
        self.server = make_server(
            "127.0.0.1", 0, self.app, server_class=_Pooled, handler_class=_Quiet
        )
        self.thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="demo-callbacks",
            daemon=True,
        )
        self.thread.start()

    def url(self, channel: str) -> str:
        """Where a channel's provider calls back."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/callbacks/{channel}"

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
