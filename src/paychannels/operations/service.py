"""The callback server's one ASGI app: the providers' callbacks, ``/healthz`` and ``/metrics``.

``paychannels serve`` runs it under uvicorn, one per worker process, each over its own
Collector. ``/healthz`` asks the journal a cheap question (its schema version) on a thread of
its own, bounded, so a stuck journal turns the probe red instead of hanging it; ``/metrics``
renders what ``operations.scrape`` collects. Every other path is the callback app's. At the
lifespan's end (after the server drained its requests) the Collector is closed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from paychannels.callbacks import CallbackASGI
from paychannels.collector import Collector
from paychannels.links.asgi import Receive, Scope, Send, send_response

__all__ = ["HEALTH_TIMEOUT", "Metrics", "ServiceApp"]

log = logging.getLogger("paychannels.operations")

#: seconds the journal has to answer ``/healthz`` (a probe's own timeout is usually 1-5 s)
HEALTH_TIMEOUT = 2.0
_JSON = {"Content-Type": "application/json"}


def _worker() -> dict[str, str]:
    """Which worker answered a probe or a scrape (the kernel hands each connection to one)."""
    return {"X-Paychannels-Worker": str(os.getpid())}


class Metrics(Protocol):
    """What ``/metrics`` serves: a status, a media type and the text (read on a thread)."""

    def scrape(self) -> tuple[int, str, bytes]:
        """``(status, content type, body)`` of one scrape."""
        ...

    def close(self) -> None:
        """Stop collecting."""
        ...


class ServiceApp:
    """``ServiceApp(collector, metrics)``: ``GET /healthz``, ``GET /metrics``, callbacks.

    ``options`` go to ``CallbackASGI`` (``prefix``, ``routes``, ``max_body``, ``workers``);
    ``close_timeout`` bounds the wait for callbacks still in the Collector at shutdown.
    """

    def __init__(
        self,
        collector: Collector,
        metrics: Metrics,
        *,
        health_timeout: float = HEALTH_TIMEOUT,
        close_timeout: float = 10.0,
        on_started: Callable[[], None] | None = None,
        **options: object,
    ) -> None:
        self.collector = collector
        self.on_started = on_started  # told at the lifespan's startup: before any request
        self.metrics = metrics
        self.callbacks = CallbackASGI(collector, **options)  # type: ignore[arg-type]
        self.health_timeout = health_timeout
        self.close_timeout = close_timeout
        # one thread: a probe waiting on a stuck journal never takes a callback's thread,
        # and probes never pile up behind it (a probe finds it busy: 503 at once)
        self._probe = ThreadPoolExecutor(max_workers=1, thread_name_prefix="healthz")
        self._probing: asyncio.Future[int] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        path = scope.get("path", "")
        if scope["type"] == "http" and path in ("/healthz", "/metrics"):
            if scope.get("method") != "GET":
                await send_response(send, 405, {"Allow": "GET"}, b"")
            elif path == "/healthz":
                await self._health(send)
            else:
                await self._metrics(send)
            return
        await self.callbacks(scope, receive, send)

    async def _health(self, send: Send) -> None:
        status, body = await self.health()
        await send_response(send, status, _JSON | _worker(), json.dumps(body).encode())

    async def health(self) -> tuple[int, dict[str, object]]:
        """200, the schema version and the worker's pid when the journal answers within the
        bound; else 503 and what kind of failure."""
        if self._probing is not None and not self._probing.done():
            return 503, {"status": "unavailable", "journal": "still busy with the last probe"}
        loop = asyncio.get_running_loop()
        self._probing = loop.run_in_executor(self._probe, self.collector.journal.schema_version)
        try:
            version = await asyncio.wait_for(asyncio.shield(self._probing), self.health_timeout)
        except TimeoutError:
            log.warning("healthz: the journal did not answer within %.1f s", self.health_timeout)
            return 503, {"status": "unavailable", "journal": "no answer in time"}
        except Exception as exc:  # unreachable, closed, refused: the probe says which kind
            log.warning("healthz: the journal did not answer: %s", type(exc).__name__)
            return 503, {"status": "unavailable", "journal": type(exc).__name__}
        return 200, {"status": "ok", "journal": "answers", "schema": version, "worker": os.getpid()}

    async def _metrics(self, send: Send) -> None:
        loop = asyncio.get_running_loop()
        status, media, body = await loop.run_in_executor(self._probe, self.metrics.scrape)
        await send_response(send, status, {"Content-Type": media} | _worker(), body)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self.on_started is not None:
                    self.on_started()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await asyncio.get_running_loop().run_in_executor(None, self.close)
                await send({"type": "lifespan.shutdown.complete"})
                return

    def close(self) -> None:
        """After the server drained: callbacks still inside the Collector finish (bounded),
        then the threads, the metrics and the Collector close."""
        self.collector.close(timeout=self.close_timeout)
        self.callbacks.close()
        self.metrics.close()
        self._probe.shutdown(wait=False, cancel_futures=True)
