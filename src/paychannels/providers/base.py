"""What every provider codec offers the mobile channel: calls to make, and what replies mean.

A codec is pure wire knowledge: it builds signed ``HttpCall``s, reads ``HttpReply``s into
``Outcome``s or ``OrderView``s, and verifies callbacks into ``Notice``s. It never sends
anything itself and never decides the flow (query after "already paid", close after expiry):
``MobilePayChannel`` does, the same way for every provider.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from paychannels.channels.base import Notice, Reply
from paychannels.links.http import HttpCall, HttpReply
from paychannels.providers.bills import BillLocation, ProviderBill
from paychannels.security.verification import CallbackRejected, Headers
from paychannels.values.errors import ChannelError
from paychannels.values.models import Outcome, Payment, Record, Refund
from paychannels.values.reasons import Reason
from paychannels.values.status import Status

__all__ = [
    "AskAgain",
    "CloseResult",
    "HttpCall",
    "HttpReply",
    "OrderState",
    "OrderView",
    "ProviderCodec",
    "ProviderError",
    "Reading",
    "closed_outcome",
]


class ProviderError(ChannelError):
    """A provider answered with an error code (``code``) we could read and verify."""

    def __init__(self, code: str, message: str, *, status: int = 0) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.text = message
        self.status = status


class OrderState(StrEnum):
    """What a provider's order query says, reduced to what the flow needs."""

    PAID = "paid"  # money taken (also: paid and since refunded, or finished)
    UNPAID = "unpaid"  # the order exists, the payer has not paid yet
    CLOSED = "closed"  # closed without money: by us, by expiry, revoked
    ABSENT = "absent"  # the provider knows no such order
    FAILED = "failed"  # the payer tried and the payment failed for good


def closed_outcome(
    *, detail: str | None = None, message: str | None = None, ref: str | None = None
) -> Outcome:
    """An order closed without money (by us, by expiry, revoked): reported CANCELLED."""
    return Outcome(
        status=Status.CANCELLED,
        reason=Reason.ORDER_CLOSED,
        reason_detail=detail,
        message=message,
        channel_ref=ref,
    )


@dataclass(frozen=True, slots=True)
class OrderView:
    """One order as the provider sees it; ``outcome`` is what the state means as a report."""

    state: OrderState
    outcome: Outcome

    @classmethod
    def unpaid(cls, detail: str) -> OrderView:
        """The order waits for the payer."""
        return cls(OrderState.UNPAID, Outcome.pending(message=detail))

    @classmethod
    def closed(cls, detail: str, ref: str | None) -> OrderView:
        """The order was closed without money."""
        return cls(OrderState.CLOSED, closed_outcome(detail=detail, ref=ref))


class CloseResult(StrEnum):
    """What closing an order achieved."""

    CLOSED = "closed"
    PAID = "paid"  # too late: the payer paid first
    ABSENT = "absent"  # no such order at the provider (yet)
    ASK = "ask"  # the provider refused for a reason only a query can explain


@dataclass(frozen=True, slots=True)
class Reading:
    """A callback read: verified notices, or the reason it was refused plus any hints.

    When only the proof failed (bad signature, stale timestamp, probe) but the content could
    be read, ``notices`` holds unverified hints: the Collector asks the provider about them
    and believes nothing they say.
    """

    notices: list[Notice]
    error: CallbackRejected | None = None


@dataclass(frozen=True, slots=True)
class AskAgain:
    """The create call met an order that already exists in some state: query it."""

    detail: str


class ProviderCodec(Protocol):
    """The wire half of a mobile channel; see the module docstring."""

    provider: str
    #: the provider creates the order only when the payer opens it (Alipay precreate/app pay)
    absent_until_buyer_acts: bool

    def order_number(self, record_id: str) -> str:
        """Our payment or refund id as the provider's ``out_trade_no``/``out_refund_no``."""
        ...

    def create_order(self, payment: Payment, expires_at: datetime) -> HttpCall | None:
        """The create-order call, or None when the order is signed locally for the app."""
        ...

    def created(
        self, payment: Payment, reply: HttpReply | None, expires_at: datetime
    ) -> Outcome | AskAgain:
        """What the create reply means (PENDING with the QR code or prepay data, DECLINED...)."""
        ...

    def query_order(self, record: Record) -> HttpCall:
        """The order query by ``out_trade_no``."""
        ...

    def order_view(self, record: Record, reply: HttpReply) -> OrderView:
        """What the query reply says about the order."""
        ...

    def close_order(self, payment: Payment) -> HttpCall:
        """The close call."""
        ...

    def closed(self, payment: Payment, reply: HttpReply) -> CloseResult:
        """What the close reply says."""
        ...

    def create_refund(self, refund: Refund, payment: Payment) -> HttpCall:
        """The refund call (``out_refund_no`` from the refund id)."""
        ...

    def refunded(self, refund: Refund, reply: HttpReply) -> Outcome:
        """What the refund reply means."""
        ...

    def query_refund(self, refund: Refund) -> HttpCall:
        """The refund query (the payment's order number is the refund's ``parent_id``)."""
        ...

    def refund_view(self, refund: Refund, reply: HttpReply) -> Outcome:
        """What the refund query says."""
        ...

    #: hosts (``.suffix`` for a domain) a bill may come from besides the API host itself
    bill_hosts: tuple[str, ...]

    def bill_request(self, day: date) -> HttpCall:
        """The call asking where the day's bill (对账单) is."""
        ...

    def bill_location(self, day: date, reply: HttpReply) -> BillLocation | None:
        """Where the bill is, from the signed answer; None when there is none (no trades)."""
        ...

    def bill_download(self, location: BillLocation, path: str | None) -> HttpCall:
        """The call fetching the file (``path``: its path when it is on the API host)."""
        ...

    def read_bill(self, day: date, location: BillLocation, body: bytes) -> ProviderBill:
        """Read a downloaded bill (``BillError`` when it cannot be read or does not add up)."""
        ...

    def read_callback(self, headers: Headers, body: bytes) -> Reading:
        """Verify a callback on its raw bytes and read it; never raises on bad input."""
        ...

    def accept_reply(self) -> Reply:
        """The reply that ends the provider's retries."""
        ...

    def reject_reply(self, error: CallbackRejected | None) -> Reply:
        """The reply that makes the provider retry (None: our own failure, e.g. journal down)."""
        ...

    def scrub(self, text: str) -> str:
        """Mask this provider's secrets and signatures in a transcript line."""
        ...

    def describe(self) -> str:
        """Where the codec points and for which merchant, safe to log."""
        ...
