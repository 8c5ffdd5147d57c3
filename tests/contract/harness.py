"""What the channel contract suite needs from each channel kind: a harness.

A harness starts the channel's peer (the memory device, a terminal simulator on TCP or a pty,
a provider simulator over HTTP, a bank simulator on files), opens a channel to it, scripts
the peer's next behaviour, and reports the peer's truth (how often money was taken). Later
issues add their harness to ``HARNESSES`` and the whole suite runs against them unchanged.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from paychannels import Channel, Collector, MemoryChannel, Money, Record

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


class MemoryHarness(Harness):
    """The in-memory channel: the reference implementation of the contract."""

    name = "memory"

    def open(self) -> Channel:
        self.channel = MemoryChannel()
        return self.channel

    def script(self, behaviour: str) -> None:
        self.channel.script(behaviour)

    def charges(self, record: Record) -> int:
        return self.channel.charges(record.id)

    def refunded(self, record: Record) -> Money:
        entry = self.channel.ledger.get(record.id)
        return Money.of_minor(entry.refunded_minor if entry else 0, record.amount.currency)

    def finish_pending(self, collector: Collector, record: Record, *, paid: bool) -> None:
        collector.handle_notice(record.channel, self.channel.settle(record.id, paid=paid))


HARNESSES: dict[str, type[Harness]] = {"memory": MemoryHarness}
