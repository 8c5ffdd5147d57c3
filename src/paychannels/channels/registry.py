"""``open_channel(url, **options)``: from a URL to a ready channel adapter.

Schemes resolve through the ``paychannels.channels`` entry-point group, so a driver package
adds ``foo+tcp://`` by declaring an entry point, without editing the core. An entry named
``zvt`` serves every ``zvt+<transport>`` scheme unless a more specific one exists.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from paychannels.channels.base import Channel
from paychannels.values.errors import ConfigurationError, UnknownScheme
from paychannels.values.urls import ParsedURL, parse_url

__all__ = ["ChannelFactory", "available_schemes", "open_channel", "register_channel"]

ChannelFactory = Callable[..., Channel]
GROUP = "paychannels.channels"

_registered: dict[str, ChannelFactory] = {}
_lock = threading.Lock()


def register_channel(scheme: str, factory: ChannelFactory) -> None:
    """Register a factory ``factory(parsed_url, **options) -> Channel`` for a scheme."""
    with _lock:
        _registered[scheme.lower()] = factory


def _entry_point_names() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def available_schemes() -> list[str]:
    """Every scheme that can be opened now (registered or declared by entry points)."""
    return sorted(set(_registered) | set(_entry_point_names()))


def _lookup(parsed: ParsedURL) -> ChannelFactory | None:
    for name in (parsed.scheme, parsed.kind):
        with _lock:
            found = _registered.get(name)
        if found is not None:
            return found
        ep = _entry_point_names().get(name)
        if ep is not None:
            factory: ChannelFactory = ep.load()
            register_channel(name, factory)
            return factory
    return None


def open_channel(url: str, **options: Any) -> Channel:
    """Open the channel a URL names; secrets and credentials go in ``options``."""
    parsed = parse_url(url, what="channel URL", form="kind+transport://where?options")
    factory = _lookup(parsed)
    if factory is None:
        known = ", ".join(available_schemes()) or "none"
        raise UnknownScheme(
            f"no channel for scheme {parsed.scheme!r} (in {parsed.raw}); known schemes: {known}. "
            f"A driver package adds schemes through the {GROUP!r} entry-point group."
        )
    channel = factory(parsed, **options)
    if not isinstance(channel, Channel):
        raise ConfigurationError(
            f"the factory for {parsed.scheme!r} returned {type(channel).__name__}, not a Channel"
        )
    return channel
