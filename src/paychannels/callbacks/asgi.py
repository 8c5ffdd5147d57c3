"""A ready ASGI app for provider callbacks, to mount in any ASGI backend (or run alone).

``uvicorn``, ``hypercorn`` or a framework's mount point call it; it reads the body up to
the size limit (refusing larger ones without buffering them), hands the raw bytes to
``CallbackHandler`` on a worker thread (the journal is synchronous), and sends the
provider's reply. Duplicate notifications arriving at once on different connections are
serialised by the journal's row lock, not here, so several processes can serve callbacks.
"""

from __future__ import annotations

from typing import Any

from paychannels.callbacks.routes import CallbackApp
from paychannels.channels.base import Reply
from paychannels.collector import Collector
from paychannels.links.asgi import Receive, Scope, Send, Workers, read_body, send_response

__all__ = ["CallbackASGI"]


class CallbackASGI(CallbackApp):
    """``CallbackASGI(collector)``: POST ``/callbacks/<channel>`` → the provider's reply.

    Options as ``CallbackApp`` (``prefix``, ``routes``, ``max_body``) plus ``workers``: the
    threads that run the synchronous journal (8: measured best for SQLite).
    """

    def __init__(self, collector: Collector, *, workers: int = 8, **options: Any) -> None:
        super().__init__(collector, **options)
        self.workers = Workers(workers, "callbacks")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if await self.workers.not_http(scope, receive, send):
            return
        channel = self.routes.channel(scope.get("path", ""))
        if channel is None:
            await _send(send, Reply(status_code=404))
            return
        if scope.get("method") != "POST":
            await _send(send, Reply(status_code=405, headers={"Allow": "POST"}))
            return
        body = await read_body(receive, self.handler.max_body)
        if body is None:
            await _send(send, self.too_large(channel))
            return
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        await _send(send, await self.workers.run(self.handler.handle, channel, headers, body))

    def close(self) -> None:
        """Stop the worker threads (when not run under a server with lifespan)."""
        self.workers.close()


async def _send(send: Send, reply: Reply) -> None:
    await send_response(send, reply.status_code, reply.headers, reply.body)
