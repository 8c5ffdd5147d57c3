"""``open_channel(url, **options)``: from a URL to a ready channel adapter.

Schemes resolve through the ``paychannels.channels`` entry-point group, so a driver package
adds ``foo+tcp://`` by declaring an entry point, without editing the core. An entry named
``zvt`` serves every ``zvt+<transport>`` scheme unless a more specific one exists.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from paychannels.channels.base import Channel
from paychannels.security.masking import shown
from paychannels.values.errors import (
    ConfigurationError,
    InvalidURL,
    PaychannelsError,
    UnknownScheme,
)
from paychannels.values.money import Money
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
    limit = _max_amount(parsed)
    if "max_amount" in parsed.query:  # every channel's option: the factory never sees it
        rest = {k: v for k, v in parsed.query.items() if k != "max_amount"}
        parsed = dataclasses.replace(parsed, query=rest)
    channel = factory(parsed, **options)
    if not isinstance(channel, Channel):
        raise ConfigurationError(
            f"the factory for {parsed.scheme!r} returned {type(channel).__name__}, not a Channel"
        )
    if limit is not None:
        channel.max_amount = limit
    return channel


def _max_amount(parsed: ParsedURL) -> Money | None:
    """``max_amount=50000.00`` (CNY unless it names its currency): the single-payment limit."""
    text = parsed.query.get("max_amount")
    if text is None:
        return None
    try:
        limit = Money.parse(text, None if text[:1].isalpha() else "CNY")
    except (PaychannelsError, ValueError, TypeError) as exc:
        raise InvalidURL(
            f"{parsed.raw!r}: option max_amount={shown(text)} is not an amount ({exc})"
        ) from None
    if not limit.is_positive():
        raise InvalidURL(f"{parsed.raw!r}: option max_amount={shown(text)} must be above zero")
    return limit
