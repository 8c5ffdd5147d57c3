"""The channels a Collector holds, by name: added, looked up, and closed with it."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

from paychannels.channels.base import Channel
from paychannels.channels.registry import open_channel
from paychannels.security.masking import scrub
from paychannels.values.errors import ConfigurationError

__all__ = ["ChannelSet"]

log = logging.getLogger("paychannels.collector")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class ChannelSet:
    """Named channels; a name is 1-64 letters, digits, '.', '_' or '-'."""

    def __init__(self) -> None:
        self._channels: dict[str, Channel] = {}

    def add(self, name: str, channel: Channel | str, **options: Any) -> Channel:
        """Register a channel under a name (a Channel, or a URL opened with ``options``)."""
        if not _NAME.match(name):
            raise ConfigurationError(
                f"channel name {name!r} must be 1-64 letters, digits, '.', '_' or '-'"
            )
        if isinstance(channel, str):
            channel = open_channel(channel, **options)
        elif options:
            raise TypeError("options are only for channels given as a URL")
        self._channels[name] = channel
        return channel

    def get(self, name: str) -> Channel:
        """The channel registered under ``name`` (``ConfigurationError`` naming the others)."""
        try:
            return self._channels[name]
        except KeyError:
            known = ", ".join(sorted(self._channels)) or "none yet"
            raise ConfigurationError(
                f"no channel named {name!r}; added channels: {known}"
            ) from None

    def find(self, name: str) -> Channel | None:
        """The channel registered under ``name``, or None (a record of a channel not added)."""
        return self._channels.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._channels

    def __iter__(self) -> Iterator[tuple[str, Channel]]:
        """``(name, channel)`` pairs, by name."""
        return iter(sorted(self._channels.items()))

    def snapshot(self) -> dict[str, Channel]:
        """A copy of the registered channels by name."""
        return dict(self._channels)

    def close_all(self) -> None:
        """Close every channel; a failure is logged and the others are still closed."""
        for ch in self._channels.values():
            try:
                ch.close()
            except Exception as exc:
                log.warning("closing channel %s failed: %s", ch.describe(), scrub(str(exc)))
