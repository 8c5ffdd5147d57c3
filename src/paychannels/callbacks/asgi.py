"""A ready ASGI app for provider callbacks, to mount in any ASGI backend (or run alone).

``uvicorn``, ``hypercorn`` or a framework's mount point call it; it reads the body up to
the size limit (refusing larger ones without buffering them), hands the raw bytes to
``CallbackHandler`` on a worker thread (the journal is synchronous), and sends the
provider's reply. Duplicate notifications arriving at once on different connections are
serialised by the journal's row lock, not here, so several processes can serve callbacks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from paychannels.callbacks.routes import CallbackApp
from paychannels.channels.base import Reply
from paychannels.collector import Collector

__all__ = ["CallbackASGI"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class CallbackASGI(CallbackApp):
    """``CallbackASGI(collector)``: POST ``/callbacks/<channel>`` → the provider's reply.

    Options as ``CallbackApp`` (``prefix``, ``routes``, ``max_body``) plus ``workers``: the
    threads that run the synchronous journal (8: measured best for SQLite).
    """

    def __init__(self, collector: Collector, *, workers: int = 8, **options: Any) -> None:
        super().__init__(collector, **options)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="callbacks")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        channel = self.routes.channel(scope.get("path", ""))
        if channel is None:
            await _send(send, Reply(status_code=404))
            return
        if scope.get("method") != "POST":
            await _send(send, Reply(status_code=405, headers={"Allow": "POST"}))
            return
        body = await self._body(receive)
        if body is None:
            await _send(send, self.too_large(channel))
            return
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        loop = asyncio.get_running_loop()
        reply = await loop.run_in_executor(self._pool, self.handler.handle, channel, headers, body)
        await _send(send, reply)

    async def _body(self, receive: Receive) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b"".join(chunks)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.handler.max_body:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self._pool.shutdown(wait=True)
                await send({"type": "lifespan.shutdown.complete"})
                return

    def close(self) -> None:
        """Stop the worker threads (when not run under a server with lifespan)."""
        self._pool.shutdown(wait=True)


async def _send(send: Send, reply: Reply) -> None:
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers.items()]
    headers.append((b"content-length", str(len(reply.body)).encode()))
    await send({"type": "http.response.start", "status": reply.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})
