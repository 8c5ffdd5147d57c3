"""What the library's ASGI apps share: a bounded body, a response, worker threads.

The callback app and the payer's lookup app are both ASGI applications over a synchronous
journal; each reads a request body up to its limit (refusing larger ones without buffering
them), answers with a status, headers and bytes, and runs the journal's work on threads that
a server's lifespan shuts down. One home for that plumbing, so both behave alike.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["Message", "Receive", "Scope", "Send", "Workers", "read_body", "send_response"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

T = TypeVar("T")


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The request body, or None as soon as it passes ``limit`` bytes (the rest unread);
    a client that disconnects ends the body with what came."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def send_response(send: Send, status: int, headers: Mapping[str, str], body: bytes) -> None:
    """Send a whole response: header names lower-cased, ``content-length`` added."""
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class Workers:
    """The threads an ASGI app runs synchronous work on, shut down at the lifespan's end."""

    def __init__(self, workers: int, name: str) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        """``work(*args)`` on a worker thread, awaited."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, work, *args)

    async def not_http(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Whether ``scope`` is no HTTP request, answered: a server's lifespan is served (the
        threads stop at its shutdown), anything else (a websocket) is left unanswered."""
        kind = str(scope["type"])
        if kind == "lifespan":
            await self.lifespan(receive, send)
        return kind != "http"

    async def lifespan(self, receive: Receive, send: Send) -> None:
        """Answer a server's lifespan messages; the threads stop at its shutdown."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def close(self) -> None:
        """Stop the threads (when not run under a server with lifespan)."""
        self._pool.shutdown(wait=True)
