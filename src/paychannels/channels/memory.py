"""The memory channel: a scriptable channel with no wire, for contract tests and rehearsals.

Like httpx's ``MockTransport``: it behaves like a device that really takes money (its ledger
counts every charge), and every outcome and fault is scriptable — approve, decline, stay
pending, refuse the connection (provably not sent), lose the request, lose the reply after
charging, answer garbage, be unreachable for status enquiries.

URLs: ``memory://`` (ledger in this process) or ``memory:///path/ledger.sqlite`` (a ledger
file that outlives the process, for crash tests), options ``default=approve|decline|...``.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import replace
from enum import StrEnum
from typing import Any

from paychannels.channels.base import Capabilities, Channel, ChannelContext, Notice
from paychannels.channels.ledger import FileLedger, InMemoryLedger, Ledger, LedgerEntry
from paychannels.security.masking import shown
from paychannels.values.errors import (
    InvalidURL,
    NotSentError,
    OutcomeUnknownError,
    ProtocolError,
)
from paychannels.values.models import Outcome, Payment, Record, Refund
from paychannels.values.money import Money
from paychannels.values.reasons import Reason
from paychannels.values.status import Status
from paychannels.values.urls import ParsedURL

__all__ = ["Behaviour", "MemoryChannel", "from_url"]


class Behaviour(StrEnum):
    """What the simulated device does with the next payment."""

    APPROVE = "approve"
    DECLINE = "decline"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    PENDING = "pending"
    REFUSE = "refuse"  # connection refused: provably not sent
    LOSE_REQUEST = "lose_request"  # sent, the device never saw it, no answer
    LOSE_REPLY = "lose_reply"  # the device charged, the answer was lost
    GARBLE_REPLY = "garble_reply"  # the device charged, the answer is unreadable


_CHARGES = {Behaviour.APPROVE, Behaviour.LOSE_REPLY, Behaviour.GARBLE_REPLY}
_FORM = "memory:// or memory:///path/to/ledger.sqlite?default=approve"

Rule = Callable[[Record], Behaviour | None]


class MemoryChannel(Channel):
    """A channel whose device is a ledger; see the module docstring."""

    scheme = "memory"
    capabilities = Capabilities(
        inquire=True,
        cancel=True,
        void=True,
        refund=True,
        partial_refund=True,
        asynchronous=True,
        dispatch_timeout=30.0,
    )

    def __init__(
        self,
        ledger: Ledger | None = None,
        *,
        default: Behaviour | str = Behaviour.APPROVE,
        name: str = "memory",
    ) -> None:
        self.ledger: Ledger = ledger or InMemoryLedger()
        self.default = Behaviour(default)
        self.name = name
        self.inquiry_down = False
        self.rules: list[Rule] = []
        self._script: deque[Behaviour] = deque()
        self._lock = threading.Lock()
        self.started: list[str] = []

    # -- scripting ----------------------------------------------------------------------

    def script(self, *behaviours: Behaviour | str) -> None:
        """Queue behaviours for the next payments and refunds, in order."""
        with self._lock:
            self._script.extend(Behaviour(b) for b in behaviours)

    def _behaviour(self, record: Record) -> Behaviour:
        for rule in self.rules:
            chosen = rule(record)
            if chosen is not None:
                return chosen
        with self._lock:
            return self._script.popleft() if self._script else self.default

    def settle(self, payment_id: str, *, paid: bool, verified: bool = True) -> Notice:
        """Finish a PENDING payment on the device and return the notice a provider would send."""
        entry = self.ledger.get(payment_id)
        if entry is None or entry.status != "PENDING":
            raise ValueError(f"{payment_id} is not pending on the memory device")
        status = "SUCCEEDED" if paid else "DECLINED"
        stored = self.ledger.record(
            replace(
                entry,
                status=status,
                charges=1 if paid else 0,
                refunded_minor=0,
                code="00" if paid else "05",
            )
        )
        outcome = self._outcome(stored)
        return Notice(
            payment_id=payment_id,
            channel_ref=stored.ref,
            outcome=outcome,
            verified=verified,
            amount=Money.of_minor(stored.amount_minor, stored.currency),
            source="memory settle",
        )

    def charges(self, key: str) -> int:
        """How many times the device took money for a payment id."""
        entry = self.ledger.get(key)
        return 0 if entry is None else entry.charges

    # -- verbs ----------------------------------------------------------------------------

    def start(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        behaviour = self._behaviour(payment)
        ctx.crashpoint("channel.before_send")
        if behaviour is Behaviour.REFUSE:
            raise NotSentError("memory device refused the connection; nothing was sent")
        self.started.append(payment.id)
        if behaviour is Behaviour.LOSE_REQUEST:
            raise OutcomeUnknownError("request sent, no answer (the device never saw it)")
        ctx.progress("processing", behaviour=behaviour.value)
        entry = self._act(payment, behaviour)
        ctx.crashpoint("channel.after_send")
        if behaviour is Behaviour.LOSE_REPLY:
            raise OutcomeUnknownError("request sent, the answer was lost")
        if behaviour is Behaviour.GARBLE_REPLY:
            raise ProtocolError("reply could not be parsed: b'\\x02\\xff\\x13'")
        receipt = (f"MEMORY DEVICE {self.name}", f"AMOUNT {payment.amount}", f"REF {entry.ref}")
        return self._outcome(entry).model_copy(update={"receipt": receipt})

    def _act(self, record: Record, behaviour: Behaviour) -> LedgerEntry:
        return self.ledger.record(self._entry(record, behaviour))

    @staticmethod
    def _entry(record: Record, behaviour: Behaviour) -> LedgerEntry:
        status, code = {
            Behaviour.DECLINE: ("DECLINED", "05"),
            Behaviour.INSUFFICIENT_FUNDS: ("DECLINED", "51"),
            Behaviour.PENDING: ("PENDING", ""),
        }.get(behaviour, ("SUCCEEDED", "00"))
        return LedgerEntry(
            key=record.id,
            status=status,
            amount_minor=record.amount.minor,
            currency=record.amount.currency.code,
            ref=f"mem-{record.id[-8:]}",
            code=code,
            charges=1 if behaviour in _CHARGES else 0,
        )

    @staticmethod
    def _outcome(entry: LedgerEntry) -> Outcome:
        match entry.status:
            case "SUCCEEDED":
                return Outcome.succeeded(
                    amount_taken=Money.of_minor(entry.amount_minor, entry.currency),
                    channel_ref=entry.ref,
                )
            case "DECLINED":
                reason = Reason.INSUFFICIENT_FUNDS if entry.code == "51" else Reason.CARD_DECLINED
                return Outcome.declined(reason, entry.code, channel_ref=entry.ref)
            case "PENDING":
                return Outcome.pending(channel_ref=entry.ref)
            case "REVERSED":
                return Outcome(status=Status.REVERSED, channel_ref=entry.ref)
            case "CLOSED":
                return Outcome(status=Status.CANCELLED, channel_ref=entry.ref)
        raise ProtocolError(f"memory ledger holds an unknown status {entry.status!r}")

    def inquire(self, record: Record, ctx: ChannelContext) -> Outcome:
        if self.inquiry_down:
            raise OutcomeUnknownError("memory device does not answer status enquiries")
        entry = self.ledger.get(record.id)
        if entry is None:
            return Outcome.not_sent("the device has no record of this payment")
        return self._outcome(entry)

    def cancel(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        entry = self.ledger.get(payment.id)
        if entry is None:
            return Outcome(status=Status.CANCELLED, message="nothing to cancel on the device")
        if entry.status == "PENDING":
            entry = self.ledger.record(replace(entry, status="CLOSED", charges=0, refunded_minor=0))
        return self._outcome(entry)

    def void(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        entry = self.ledger.get(payment.id)
        if entry is None or entry.status not in ("SUCCEEDED", "REVERSED"):
            return Outcome.declined(Reason.TRANSACTION_FORBIDDEN, "nothing to reverse")
        entry = self.ledger.record(replace(entry, status="REVERSED", charges=0, refunded_minor=0))
        return self._outcome(entry)

    def refund(self, refund: Refund, payment: Payment, ctx: ChannelContext) -> Outcome:
        behaviour = self._behaviour(refund)
        if behaviour is Behaviour.REFUSE:
            raise NotSentError("memory device refused the connection; nothing was sent")
        original = self.ledger.get(payment.id)
        if original is None or original.status != "SUCCEEDED":
            return Outcome.declined(Reason.TRANSACTION_FORBIDDEN, "no succeeded payment to refund")
        if behaviour in (Behaviour.DECLINE, Behaviour.INSUFFICIENT_FUNDS):
            entry = self._act(refund, Behaviour.DECLINE)
            return self._outcome(entry)
        if behaviour is Behaviour.LOSE_REQUEST:
            raise OutcomeUnknownError("refund request sent, no answer")
        given = self.ledger.refund(payment.id, self._entry(refund, Behaviour.APPROVE))
        if given is None:  # voided meanwhile, by another process
            return Outcome.declined(Reason.TRANSACTION_FORBIDDEN, "no succeeded payment to refund")
        if behaviour in (Behaviour.LOSE_REPLY, Behaviour.GARBLE_REPLY):
            raise OutcomeUnknownError("refund done on the device, the answer was lost")
        return self._outcome(given)

    def describe(self) -> str:
        path = getattr(self.ledger, "path", None)
        return f"memory://{path or ''} ({self.name})"


def from_url(parsed: ParsedURL, **options: Any) -> MemoryChannel:
    """Entry point for ``memory://`` URLs."""
    parsed.check_options({"default", "name"}, _FORM)
    if parsed.host:
        raise InvalidURL(f"{parsed.raw!r}: the memory channel takes a path, not a host; {_FORM}")
    default = parsed.option("default", "approve") or "approve"
    try:
        behaviour = Behaviour(default)
    except ValueError:
        known = ", ".join(b.value for b in Behaviour)
        raise InvalidURL(
            f"{parsed.raw!r}: default={shown(default)} is not one of {known}"
        ) from None
    ledger: Ledger | None = FileLedger(parsed.path) if parsed.path not in ("", "/") else None
    unknown = set(options) - {"rules"}
    if unknown:
        raise TypeError(f"memory channel got unexpected options {sorted(unknown)}")
    channel = MemoryChannel(
        ledger, default=behaviour, name=parsed.option("name", "memory") or "memory"
    )
    rules: Iterable[Rule] = options.get("rules", ())
    channel.rules.extend(rules)
    return channel
