"""What the contract suite needs from a channel kind: a harness around the channel and its device.

A harness starts the channel's device (an in-process ledger, a terminal simulator on TCP or a
pty, a provider simulator over HTTP, a bank simulator on files), opens a channel to it, scripts
the device's next behaviour, and reports the device's own truth — how often it took money, how
much it gave back. The suite judges the channel by that truth, never by what the channel says.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from paychannels import Channel, Collector, Money, PaymentRequest, Record

__all__ = ["BEHAVIOURS", "Harness"]

#: what a device can be scripted to do with the next payment or refund
BEHAVIOURS = frozenset(
    {
        "approve",  # take the money and answer
        "decline",  # refuse the payment (any business reason)
        "insufficient_funds",  # refuse it for want of funds (Reason.INSUFFICIENT_FUNDS)
        "pending",  # accept it, the payer finishes later (asynchronous channels)
        "refuse",  # refuse the connection: provably nothing sent (NotSentError)
        "lose_request",  # the request went out, the device never saw it, no answer
        "lose_reply",  # the device took the money, the answer was lost
        "garble_reply",  # the device took the money, the answer is unreadable
    }
)


class Harness(ABC):
    """One channel kind under the contract suite; one instance per test.

    ``name`` names the kind in test ids; ``supports`` lists the behaviours its device can be
    scripted with (tests needing another are skipped, naming the behaviour); ``currency`` is
    the ISO 4217 code its payments use.
    """

    name: ClassVar[str]
    supports: ClassVar[frozenset[str]] = BEHAVIOURS
    currency: ClassVar[str] = "CNY"

    @abstractmethod
    def open(self) -> Channel:
        """Start the device and return a channel connected to it (the suite adds it as ``ch``)."""

    def prepare(self, request: PaymentRequest) -> PaymentRequest:
        """The request as this kind of channel is asked for a payment: unchanged, or with what
        the payer presents at the till (a payment code the clerk scans)."""
        return request

    @abstractmethod
    def script(self, behaviour: str) -> None:
        """Make the device do ``behaviour`` (from ``supports``) with the next payment or refund."""

    @abstractmethod
    def charges(self, record: Record) -> int:
        """How many times the device's own ledger took money for this payment."""

    def refunded(self, record: Record) -> Money:
        """How much the device's ledger has given back for this payment (channels with refunds)."""
        raise NotImplementedError(f"{type(self).__name__} does not read refunds off its device")

    def finish_pending(self, collector: Collector, record: Record, *, paid: bool) -> None:
        """Asynchronous channels: the payer pays or abandons; the news reaches ``collector``."""
        raise NotImplementedError(f"{type(self).__name__} has no pending payments to finish")

    def transcript(self) -> str:
        """What crossed the wire so far, as the channel logged it (checked to be scrubbed)."""
        return ""

    def secrets(self) -> list[str]:
        """Values (passwords, card numbers, keys) that must never appear in a transcript or log."""
        return []

    def close(self) -> None:  # noqa: B027 - most devices need no stopping
        """Stop the device and release what ``open`` took."""
