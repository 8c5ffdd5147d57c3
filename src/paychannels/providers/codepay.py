"""What a payment-code (付款码) codec offers the code channel: the pay, query and reverse calls.

A clerk scans the payer's code and the provider charges at once, or answers "the payer is
confirming" (WeChat ``USERPAYING``, Alipay ``10003 WAIT_BUYER_PAY``) and the merchant must
ask until the payer has confirmed, then reverse (撤销/cancel) an order still unclear. Only the
wire differs per provider; ``CodePayChannel`` runs the same flow for each.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from paychannels.links.http import HttpCall, HttpReply
from paychannels.values.models import Outcome, Payment, Record
from paychannels.values.paymentcode import PaymentCode, Provider

__all__ = ["CodePayCodec", "CodeState", "CodeView", "ReverseResult"]


class CodeState(StrEnum):
    """What the provider says of a payment-code order, reduced to what the flow needs."""

    PAID = "paid"  # money taken (outcome: SUCCEEDED)
    PAYING = "paying"  # the payer is confirming (password): ask again later
    REFUSED = "refused"  # certainly not paid, and it never will be (outcome: DECLINED)
    REVOKED = "revoked"  # reversed/closed: outcome REVERSED (taken, given back) or CANCELLED
    ABSENT = "absent"  # the provider knows no such order
    UNCLEAR = "unclear"  # an answer that settles nothing (system error): ask again


@dataclass(frozen=True, slots=True)
class CodeView:
    """One answer about a payment-code order; ``outcome`` is what it means as a report."""

    state: CodeState
    outcome: Outcome
    detail: str = ""


class ReverseResult(StrEnum):
    """What a reverse call achieved."""

    DONE = "done"  # the order is closed for good; money taken (if any) goes back
    ABSENT = "absent"  # no such order at the provider
    AGAIN = "again"  # the provider asks to reverse again (system error, busy)


class CodePayCodec(Protocol):
    """The wire half of a payment-code channel for one provider account."""

    provider: Provider

    def pay_call(self, payment: Payment, code: PaymentCode) -> HttpCall:
        """The pay request carrying the scanned code (the only call that holds it)."""
        ...

    def paid(self, payment: Payment, reply: HttpReply) -> CodeView:
        """What the pay answer says."""
        ...

    def query_call(self, record: Record) -> HttpCall:
        """The order query by our order number."""
        ...

    def queried(self, record: Record, reply: HttpReply) -> CodeView:
        """What the query answer says."""
        ...

    def reverse_call(self, payment: Payment) -> HttpCall:
        """The reverse (撤销) of the order: closes it, and gives back money if it was paid."""
        ...

    def reversed(self, payment: Payment, reply: HttpReply) -> ReverseResult:
        """What the reverse answer says."""
        ...

    def scrub(self, text: str) -> str:
        """Mask secrets and codes in a transcript or log line."""
        ...

    def describe(self) -> str:
        """The account, safe to log."""
        ...
