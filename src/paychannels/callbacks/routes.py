"""Which channel a callback URL path belongs to, shared by the ASGI and WSGI apps.

By default the last path segment under ``prefix`` names the channel
(``POST /callbacks/wechat-hall`` → channel ``wechat-hall``); ``routes`` maps exact paths
instead (``{"/notify/wx": "wechat-hall"}``) for providers configured with fixed URLs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["Routes"]


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
