"""What the ASGI and WSGI apps share: which channel a path names, the handler, the limit.

By default the last path segment under ``prefix`` names the channel
(``POST /callbacks/wechat-hall`` → channel ``wechat-hall``); ``routes`` maps exact paths
instead (``{"/notify/wx": "wechat-hall"}``) for providers configured with fixed URLs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from paychannels.callbacks.handler import DEFAULT_MAX_BODY, CallbackHandler
from paychannels.channels.base import Reply
from paychannels.collector import Collector
from paychannels.security.verification import PayloadTooLarge

__all__ = ["CallbackApp", "Routes"]


@dataclass(frozen=True)
class Routes:
    """Path to channel name."""

    prefix: str = "/callbacks/"
    exact: Mapping[str, str] = field(default_factory=dict)

    def channel(self, path: str) -> str | None:
        """The channel for a request path, or None (answer 404)."""
        if path in self.exact:
            return self.exact[path]
        if self.exact and not self.prefix:
            return None
        prefix = self.prefix if self.prefix.endswith("/") else self.prefix + "/"
        if not path.startswith(prefix):
            return None
        name = path[len(prefix) :].strip("/")
        return name if name and "/" not in name else None


class CallbackApp:
    """Base of the ASGI and WSGI apps: routes plus a ``CallbackHandler``."""

    def __init__(
        self,
        collector: Collector,
        *,
        prefix: str = "/callbacks/",
        routes: Mapping[str, str] | None = None,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        self.handler = CallbackHandler(collector, max_body=max_body)
        self.routes = Routes(prefix, dict(routes or {}))

    def too_large(self, channel: str) -> Reply:
        """The refusal of a body over the limit (sent without reading the rest)."""
        error = PayloadTooLarge(f"body exceeds the {self.handler.max_body} byte limit")
        return self.handler.reject(channel, error)
