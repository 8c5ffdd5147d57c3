"""Money going back: refunds (child records, dispatched like payments) and cancel/void.

A refund is journaled and claimed before its channel is touched, exactly like a payment;
its idempotency key defaults to the payment and amount, so a repeated call is a retry. A
cancel that meets a dispatch in flight asks the channel to abort and records its answer, but
never ends the payment "not paid" while the device may still be charging.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from paychannels.collector.channelset import ChannelSet
from paychannels.collector.context import Contexts
from paychannels.collector.dispatch import Dispatcher
from paychannels.collector.resolution import abort_requested
from paychannels.collector.voids import Voids
from paychannels.collector.writer import JournalWriter
from paychannels.journal import Change, Journal, NewRecord
from paychannels.runtime.ids import new_id
from paychannels.values.errors import IllegalTransition, InvalidRequest, UnsupportedOperation
from paychannels.values.models import (
    Outcome,
    Payment,
    PaymentRequest,
    Record,
    Refund,
    as_payment,
    as_refund,
)
from paychannels.values.money import Money
from paychannels.values.status import Status

__all__ = ["Reversals"]

_ANSWER_WAIT = 5.0  # how long a cancel waits for a dispatch to journal an answer it has
_ANSWER_POLL = 0.05

_NOT_GIVEN_BACK = (
    Status.DECLINED,
    Status.CANCELLED,
    Status.EXPIRED,
    Status.NOT_SENT,
    Status.CREATED,
)


class Reversals:
    """Refunds and cancels (withdraw, close, void); see the module docstring."""

    def __init__(
        self,
        journal: Journal,
        writer: JournalWriter,
        channels: ChannelSet,
        contexts: Contexts,
        dispatcher: Dispatcher,
        voids: Voids,
    ) -> None:
        self._journal = journal
        self._writer = writer
        self._channels = channels
        self._contexts = contexts
        self._dispatcher = dispatcher
        self._voids = voids

    def refund(
        self, payment_id: str, amount: Money | None, *, idempotency_key: str | None
    ) -> Refund:
        """``Collector.refund``: checked against what is left, journaled and claimed, then sent."""
        parent = self._journal.get(payment_id)
        if not isinstance(parent, Payment):
            raise InvalidRequest(f"{payment_id} is a refund; refund the payment itself")
        if parent.status is not Status.SUCCEEDED:
            raise IllegalTransition(
                f"{payment_id} is {parent.status}; only SUCCEEDED can be refunded"
            )
        if parent.voiding:
            raise IllegalTransition(
                f"{payment_id}: a void is in flight or unanswered; recover() settles it first"
            )
        ch = self._channels.get(parent.channel)
        if not ch.capabilities.refund:
            raise UnsupportedOperation(f"channel {parent.channel!r} cannot refund")
        taken = parent.amount_taken or parent.amount
        if amount is None:
            # what is left after refunds that went out or may have; one that provably never
            # left (NOT_SENT, CREATED) is still owed, and its key makes this call its retry
            already = sum(
                (
                    r.amount
                    for r in self._journal.find(parent_id=payment_id, limit=10_000)
                    if r.status not in _NOT_GIVEN_BACK
                ),
                Money.zero(taken.currency),
            )
            amount = taken - already
            if not amount.is_positive():
                raise InvalidRequest(f"{payment_id}: nothing left to refund ({already} refunded)")
        if amount < taken and not ch.capabilities.partial_refund:
            raise UnsupportedOperation(
                f"channel {parent.channel!r} cannot refund part of a payment"
            )
        key = idempotency_key or f"refund:{payment_id}:{amount.minor}"
        request = PaymentRequest(
            payer_id=parent.payer_id,
            amount=amount,
            reference=parent.reference,
            idempotency_key=key,
            operator=parent.operator,
            period=parent.period,
        )
        new = NewRecord(
            id=new_id("rfd"),
            kind="refund",
            channel=parent.channel,
            request=request,
            fingerprint=request.fingerprint(f"{parent.channel}:{payment_id}"),
            parent_id=payment_id,
        )
        dispatcher = self._dispatcher
        applied = self._writer.create(new, then=[dispatcher.claim_change(ch)])
        record = applied.record
        if not applied.created:
            claimed = dispatcher.claim(record, ch)
            if claimed is None:
                return as_refund(record)
            record = claimed
        return as_refund(dispatcher.dispatch(record, ch))

    def cancel(self, record_id: str) -> Record:
        """Stop a payment: withdraw an unsent one, close a pending one, void a succeeded one."""
        record = self._journal.get(record_id)
        if record.status in (Status.CREATED, Status.NOT_SENT):

            def withdraw(current: Record) -> list[Change]:
                if current.status not in (Status.CREATED, Status.NOT_SENT):
                    raise IllegalTransition(f"{record_id} moved to {current.status} meanwhile")
                return [Change(to_status=Status.CANCELLED, data={"via": "cancel"})]

            return self._writer.modify(record_id, withdraw)
        ch = self._channels.get(record.channel)
        payment = as_payment(record)
        ctx = self._contexts.for_record(record)
        if record.status in (Status.PENDING, Status.DISPATCHED):
            if not ch.capabilities.cancel:
                raise UnsupportedOperation(f"channel {record.channel!r} cannot cancel")
            outcome = ch.cancel(payment, ctx)
            if record.status is Status.DISPATCHED:
                return self._abort_requested(record, outcome, ctx.held())
            return self._writer.apply_outcome(
                record_id, outcome, via="cancel", notes=ctx.held(), attempt=record.attempt
            )
        if record.status is Status.SUCCEEDED:
            if not ch.capabilities.void:
                raise UnsupportedOperation(
                    f"channel {record.channel!r} cannot void; use refund() instead"
                )
            return self._voids.void(record, ch)
        if record.status is Status.UNKNOWN:
            raise IllegalTransition(
                f"{record_id} is UNKNOWN: its outcome must be asked first (recover())"
            )
        raise IllegalTransition(f"{record_id} is {record.status}; nothing to cancel")

    def _abort_requested(self, record: Record, outcome: Outcome, held: Sequence[Change]) -> Record:
        """Journal the abort and the channel's answer; the dispatch in flight decides the state.

        ``collect()`` is still waiting on the device, which may charge in spite of the abort:
        only its answer (or ``recover()`` asking the device, if that dispatcher dies) may say
        whether money was taken. When the channel says the payment ended, that answer is on
        its way to the dispatch too: the cancel returns the payment once it is journaled.
        """
        changes = [*held, *abort_requested(outcome, attempt=record.attempt)]
        noted = self._writer.modify(record.id, lambda _current: changes)
        if outcome.status in (Status.PENDING, Status.UNKNOWN, Status.NOT_SENT):
            return noted  # still running, or no answer: the dispatch decides when it can
        return self._dispatch_answer(noted)

    def _dispatch_answer(self, noted: Record) -> Record:
        """The record once its dispatch journaled the answer the channel already gave the
        cancel: the device answered both at once, the dispatch thread may just be slower."""
        deadline = time.monotonic() + _ANSWER_WAIT
        current = noted
        while current.status is Status.DISPATCHED and current.attempt == noted.attempt:
            if time.monotonic() >= deadline:
                return current  # that dispatcher is gone or stuck: recover() will ask
            time.sleep(_ANSWER_POLL)
            current = self._journal.get(noted.id)
        return current
