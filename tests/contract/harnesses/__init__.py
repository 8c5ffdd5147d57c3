"""What the channel contract suite needs from each channel kind: a harness.

A harness starts the channel's peer (the memory device, a terminal simulator on TCP or a pty,
a provider simulator over HTTP, a bank simulator on files), opens a channel to it, scripts
the peer's next behaviour, and reports the peer's truth (how often money was taken). Each
channel kind adds a module to this package with a ``HARNESSES`` dict; the whole suite then
runs against it unchanged.
"""

from __future__ import annotations

import importlib
import pkgutil
from abc import ABC, abstractmethod
from typing import ClassVar

from paychannels import Channel, Collector, Money, Record

#: the behaviours a peer can be scripted with (a harness lists those its peer supports)
BEHAVIOURS = frozenset(
    {
        "approve",
        "decline",
        "insufficient_funds",
        "pending",
        "refuse",
        "lose_request",
        "lose_reply",
        "garble_reply",
    }
)


class Harness(ABC):
    """One channel kind under the contract suite."""

    name: ClassVar[str]
    supports: ClassVar[frozenset[str]] = BEHAVIOURS
    currency: ClassVar[str] = "CNY"

    @abstractmethod
    def open(self) -> Channel:
        """Start the peer (once per test) and return a channel connected to it."""

    @abstractmethod
    def script(self, behaviour: str) -> None:
        """Make the peer do ``behaviour`` with the next payment or refund."""

    @abstractmethod
    def charges(self, record: Record) -> int:
        """How many times the peer took money for this payment."""

    def refunded(self, record: Record) -> Money:
        """How much the peer has given back for this payment."""
        raise NotImplementedError

    def finish_pending(self, collector: Collector, record: Record, *, paid: bool) -> None:
        """For asynchronous channels: the payer pays (or abandons) and the news is delivered."""
        raise NotImplementedError

    def transcript(self) -> str:
        """What crossed the wire so far, as the channel would log it (scrubbed)."""
        return ""

    def secrets(self) -> list[str]:
        """Values that must never appear in a transcript or log line."""
        return []

    def close(self) -> None:  # noqa: B027 - most peers need no stopping
        """Stop the peer."""


def all_harnesses() -> dict[str, type[Harness]]:
    """Every harness: each module of this package contributes its ``HARNESSES`` dict."""
    found: dict[str, type[Harness]] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        found.update(getattr(module, "HARNESSES", {}))
    return found
