"""The channel adapter contract: one class per kind of channel, the same verbs for all.

An adapter turns the unified verbs into a driver's or provider's dialogue and reports what
it saw as an ``Outcome``; it never writes the journal itself. What it may ask of the
Collector while working (progress, persistent counters, a cross-process lock,
the clock) comes through the ``ChannelContext`` it is handed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import ClassVar, Protocol

from pydantic import Field, JsonValue

from paychannels.journal.base import StateEntry
from paychannels.runtime.clock import Clock
from paychannels.security.masking import scrub
from paychannels.values.errors import UnsupportedOperation
from paychannels.values.models import (
    FrozenModel,
    Outcome,
    Payment,
    PaymentRequest,
    Record,
    Refund,
)
from paychannels.values.money import Money
from paychannels.values.paymentcode import PaymentCode
from paychannels.values.results import Report

__all__ = ["Capabilities", "Channel", "ChannelContext", "Intent", "Marker", "Notice", "Reply"]


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a channel can do beyond starting a payment; the Collector checks before asking."""

    inquire: bool = False
    cancel: bool = False
    void: bool = False
    refund: bool = False
    partial_refund: bool = False
    batch: bool = False
    callback: bool = False
    asynchronous: bool = False
    #: the longest a ``start`` dialogue may run; the dispatch claim outlives it
    dispatch_timeout: float = 300.0


@dataclass(frozen=True, slots=True)
class Intent:
    """A payment the Collector is about to journal and claim, as a channel's marker names it."""

    record_id: str
    attempt: int
    amount: Money


@dataclass(frozen=True, slots=True)
class Marker:
    """A channel-state value (``key``, compare-and-set on ``expected_version``) to commit
    with the intent and its claim (see ``Channel.marker``)."""

    key: str
    value: JsonValue
    expected_version: int


class ChannelContext(Protocol):
    """What an adapter may ask of the Collector during one verb."""

    @property
    def channel_name(self) -> str:
        """The name the channel was added under."""
        ...

    @property
    def clock(self) -> Clock:
        """The Collector's clock (deadlines from ``monotonic()``)."""
        ...

    def progress(self, text: str, **data: JsonValue) -> None:
        """Report an intermediate status ("insert card"): live to ``watch_progress`` now,
        journaled as a progress event with the verb's outcome."""
        ...

    def next_number(self, key: str, *, start: int = 1) -> int:
        """A persistent per-channel counter (trace numbers, service ids)."""
        ...

    def state_get(self, key: str) -> StateEntry | None:
        """A persisted per-channel value (a file ledger, a cursor), with its version."""
        ...

    def state_put(self, key: str, value: JsonValue, *, expected_version: int) -> bool:
        """Write a per-channel value if its version is ``expected_version`` (0 = absent)."""
        ...

    def lock(self, name: str, *, timeout: float) -> AbstractContextManager[None]:
        """Hold a lock shared by every process on the journal (one payment per terminal)."""
        ...

    def crashpoint(self, name: str) -> None:
        """A named point where the crash tests may kill the process."""
        ...

    def take_payment_code(self) -> PaymentCode | None:
        """The payment's scanned code, handed out at most once per process and only to the
        dispatch that follows the intent; None after a restart, on a retry, on recovery."""
        ...


class Notice(FrozenModel):
    """News about a payment that arrives unasked: a callback, a result-file row.

    ``verified`` False means it is only a hint: the Collector asks the channel instead of
    believing it. ``amount`` is what the channel says was paid, checked against the journal.
    ``attempt`` is the dispatch attempt the news is about, where the channel's identity
    carries it (a nexo ServiceID, a bank end-to-end id): news about an earlier attempt is
    recorded and never applied to a later one.
    """

    payment_id: str | None = None
    attempt: int | None = Field(default=None, ge=0)
    channel_ref: str | None = None
    outcome: Outcome | None = None
    verified: bool = False
    amount: Money | None = None
    problem: str | None = None
    source: str = "notice"
    data: dict[str, JsonValue] = Field(default_factory=dict)


class Reply(FrozenModel):
    """The HTTP answer a provider expects to a callback."""

    status_code: int = 200
    headers: dict[str, str] = Field(default_factory=dict)
    body: bytes = b""


class Channel(ABC):
    """Base of every channel adapter (TerminalChannel, CloudPosChannel, MobilePayChannel...)."""

    #: URL scheme(s) this adapter opens, e.g. ``zvt+tcp``
    scheme: ClassVar[str] = ""
    capabilities: ClassVar[Capabilities] = Capabilities()
    #: the single-payment limit (``max_amount=`` on the URL); the Collector refuses above it
    #: before the intent is written
    max_amount: Money | None = None

    def route(self, request: PaymentRequest) -> str | None:
        """The name of the channel that really takes ``request`` (a router such as
        ``paycode://``), or None: this channel takes it. Asked before the intent is journaled."""
        return None

    @abstractmethod
    def start(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        """Send the payment and report what happened (raise ``NotSentError`` if provably unsent)."""

    def marker(self, intent: Intent, ctx: ChannelContext) -> Marker | None:
        """The note ``start`` must persist before its first byte leaves, if the channel can
        tell it before the intent is journaled; the Collector commits it with the intent.

        Whether it landed, ``start`` learns from the channel's state, as before any send:
        a marker another command settled in between means this attempt must not leave.
        None (the default): ``start`` writes its own.
        """
        return None

    def start_batch(self, payments: Sequence[Payment], ctx: ChannelContext) -> list[Outcome]:
        """Send many payments at once (one request file); one outcome per payment, in order.

        Only called when ``capabilities.batch`` is set. Raising ``NotSentError`` means none left.
        """
        raise UnsupportedOperation(f"{type(self).__name__} does not send batches")

    def inquire(self, record: Record, ctx: ChannelContext) -> Outcome:
        """Ask the channel what became of a payment or refund (status enquiry, order query)."""
        raise UnsupportedOperation(f"{type(self).__name__} cannot inquire")

    def cancel(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        """Abort a payment that has not completed (abort on the terminal, close the order)."""
        raise UnsupportedOperation(f"{type(self).__name__} cannot cancel an unfinished payment")

    def void(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        """Reverse a succeeded payment in full (reversal, void); success reports REVERSED."""
        raise UnsupportedOperation(f"{type(self).__name__} cannot void a payment")

    def refund(self, refund: Refund, payment: Payment, ctx: ChannelContext) -> Outcome:
        """Give (part of) a succeeded payment back; the refund is its own record."""
        raise UnsupportedOperation(f"{type(self).__name__} cannot refund")

    def parse_callback(
        self, headers: Mapping[str, str], body: bytes, ctx: ChannelContext
    ) -> tuple[list[Notice], Reply]:
        """Verify and read a provider's callback on its raw bytes; return notices and the reply."""
        raise UnsupportedOperation(f"{type(self).__name__} takes no callbacks")

    def poll(self, ctx: ChannelContext) -> list[Notice]:
        """Periodic work of batch channels: write due files, read result files."""
        raise UnsupportedOperation(f"{type(self).__name__} has nothing to poll")

    def reports(self, ctx: ChannelContext) -> Iterator[Report]:
        """Bulk news waiting to be applied (result files), each all-or-nothing; none by default.

        The Collector applies each report it is handed before asking for the next, and tells
        the report whether it was applied or refused.
        """
        return iter(())

    def scrub(self, text: str) -> str:
        """Mask secrets, card numbers, accounts and ID numbers in a transcript or log line."""
        return scrub(text)

    def describe(self) -> str:
        """Where this channel points, safe to log (no secrets)."""
        return type(self).__name__

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release links and connections."""
