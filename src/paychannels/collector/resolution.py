"""What a channel's report means for a journaled payment: the Collector's one policy.

``resolve(current, outcome, via=..., attempt=...)`` is pure: it returns the ``Change`` steps
that move a record forward, and never moves it back. A report that contradicts a settled
state ("not paid" after "paid", "paid" after "declined") is not applied; it raises attention
instead, so a person looks. An answer about an earlier dispatch attempt than the record's
is recorded and never applied. Every combination of current and reported status is handled
explicitly.
"""

from __future__ import annotations

from dataclasses import replace
from typing import assert_never

from pydantic import JsonValue

from paychannels.journal.base import Change
from paychannels.values.errors import IllegalTransition, InvalidRequest
from paychannels.values.models import EventType, Outcome, Record
from paychannels.values.money import Money
from paychannels.values.reasons import Reason
from paychannels.values.status import TRANSITIONS, Status, is_open

__all__ = ["abort_requested", "attention", "manual", "resolve"]

S = Status


def _data(outcome: Outcome, via: str) -> dict[str, JsonValue]:
    data: dict[str, JsonValue] = {"via": via}
    if outcome.message:
        data["message"] = outcome.message
    return data


def _move(current: Record, target: Status, outcome: Outcome, via: str) -> Change:
    taken = None
    if target is S.SUCCEEDED:
        taken = outcome.amount_taken or current.amount
    channel_data: dict[str, JsonValue] = dict(outcome.data)
    data = _data(outcome, via)
    if outcome.receipt:
        channel_data["receipt"] = data["receipt"] = list(outcome.receipt)
    return Change(
        to_status=target,
        data=data,
        amount_taken=taken,
        channel_ref=outcome.channel_ref,
        reason=outcome.reason,
        reason_detail=outcome.reason_detail,
        channel_data=channel_data or None,
        attention=""
        if current.status is S.NEEDS_ATTENTION
        else None,  # a definitive answer clears it
    )


def attention(current: Record, text: str, reason: Reason = Reason.OTHER) -> list[Change]:
    """Ask a person to look: NEEDS_ATTENTION where the machine allows, else a flag."""
    match current.status:
        case S.UNKNOWN:
            return [Change(to_status=S.NEEDS_ATTENTION, attention=text, reason=reason)]
        case S.DISPATCHED | S.PENDING:
            return [
                Change(to_status=S.UNKNOWN, data={"via": "attention"}),
                Change(to_status=S.NEEDS_ATTENTION, attention=text, reason=reason),
            ]
        case (
            S.CREATED
            | S.NOT_SENT
            | S.SUCCEEDED
            | S.DECLINED
            | S.EXPIRED
            | S.CANCELLED
            | S.REVERSED
            | S.NEEDS_ATTENTION
        ):
            return [
                Change(event=EventType.ATTENTION, attention=text, data={"reason": reason.value})
            ]
        case _:
            assert_never(current.status)


def manual(
    current: Record,
    status: Status,
    *,
    operator: str,
    note: str,
    amount_taken: Money | None = None,
) -> list[Change]:
    """A person's decision: a step the table allows, or — on a settled payment with an
    attention flag — its state confirmed (and what was taken corrected) and the flag cleared.

    The flag keeps a settled state because news contradicted it; the person who checked the
    channel is the one who may end that doubt, by name.
    """
    data: dict[str, JsonValue] = {"via": "manual", "operator": operator, "note": note}
    if status is current.status and current.attention and not is_open(status):
        if amount_taken is not None and status is not S.SUCCEEDED:
            raise InvalidRequest(f"{current.id}: an amount taken is only for SUCCEEDED")
        data["confirmed"] = status.value
        return [Change(event=EventType.NOTE, data=data, amount_taken=amount_taken, attention="")]
    if status not in TRANSITIONS[current.status]:
        raise IllegalTransition(f"{current.id}: cannot settle {current.status} as {status} by hand")
    taken = amount_taken or (current.amount if status is S.SUCCEEDED else None)
    return [Change(to_status=status, amount_taken=taken, attention="", data=data)]


def _without_money(current: Record, target: Status, outcome: Outcome, via: str) -> Change:
    """A report of "closed, no money" in words the table has no edge for, as ``target``.

    The channel's reason is kept; without one: ORDER_EXPIRED, ORDER_CLOSED, or (a return of
    a payment we never saw succeed) OTHER.
    """
    reason = outcome.reason
    if reason is None:
        reason = {S.EXPIRED: Reason.ORDER_EXPIRED, S.CANCELLED: Reason.ORDER_CLOSED}.get(
            outcome.status, Reason.OTHER
        )
    fixed = outcome.model_copy(update={"status": target, "reason": reason})
    return _move(current, target, fixed, via)


def resolve(current: Record, outcome: Outcome, *, via: str, attempt: int | None) -> list[Change]:
    """The steps that apply ``outcome`` (learned ``via`` dispatch/inquiry/callback/file).

    ``attempt`` is the dispatch attempt the answer is about (None when the news cannot say,
    e.g. a result-file row): each step names it, so the journal refuses it on another one.
    """
    if attempt is None:
        return _resolve(current, outcome, via)
    if attempt != current.attempt:
        return _stale(current, outcome, via, attempt)
    return [replace(step, attempt=attempt) for step in _resolve(current, outcome, via)]


def _stale(current: Record, outcome: Outcome, via: str, about: int) -> list[Change]:
    """An answer about another attempt (an earlier one, or one that never was): true of that
    attempt, if of any, not of this one.

    It is recorded, never applied. Only "money taken" by an attempt the journal moved past
    (it was NOT_SENT, or closed) contradicts the journal, and asks for a person — unless the
    record already holds that very charge (same channel reference).
    """
    data = _data(outcome, via)
    data.update(
        stale=True,
        about_attempt=about,
        attempt=current.attempt,
        reported=outcome.status.value,
        text=f"{via}: answer about attempt {about} arrived during attempt "
        f"{current.attempt}; recorded, not applied",
    )
    if outcome.channel_ref:
        data["channel_ref"] = outcome.channel_ref
    steps = [Change(event=EventType.NOTE, data=data)]
    same_charge = (
        current.status is S.SUCCEEDED
        and outcome.channel_ref is not None
        and outcome.channel_ref == current.channel_ref
    )
    if outcome.status is S.SUCCEEDED and not same_charge:
        text = f"{via}: attempt {about} reported money taken; the journal is at attempt " + (
            f"{current.attempt} ({current.status})"
        )
        steps.append(
            Change(
                event=EventType.ATTENTION,
                attention=text,
                data={"reason": Reason.LATE_CONTRADICTION.value},
            )
        )
    return steps


def abort_requested(outcome: Outcome, *, attempt: int) -> list[Change]:
    """A cancel's answer while the payment was being dispatched: recorded, never applied.

    The device may still be charging (the abort can come too late, or "nothing to cancel"
    may only mean the request has not arrived yet); the dispatch's own answer, or
    ``recover()`` asking the device, decides. A final "not paid" here could be a lie.
    """
    data = _data(outcome, "cancel")
    data.update(
        reported=outcome.status.value,
        attempt=attempt,
        text=f"abort requested during dispatch attempt {attempt}; the channel answered "
        f"{outcome.status}; the dispatch's own answer decides",
    )
    return [Change(event=EventType.NOTE, data=data)]


def _taken_then_returned(current: Record, outcome: Outcome, via: str) -> list[Change]:
    """REVERSED with the amount taken, on a payment not yet SUCCEEDED: both edges, in order.

    The provider took the money and gave it back (a reverse of an order the payer had paid
    meanwhile): the journal shows the charge and its reversal, as the provider's bill does.
    """
    taken = outcome.model_copy(update={"status": S.SUCCEEDED, "reason": None})
    steps = [_move(current, S.SUCCEEDED, taken, via)]
    returned = outcome.model_copy(update={"amount_taken": None, "channel_ref": None, "data": {}})
    return [*steps, _move(current, S.REVERSED, returned, via)]


def _resolve(current: Record, outcome: Outcome, via: str) -> list[Change]:
    reported = outcome.status
    if (
        reported is S.REVERSED
        and outcome.amount_taken is not None
        and S.SUCCEEDED in TRANSITIONS[current.status]
    ):
        return _taken_then_returned(current, outcome, via)
    if reported in TRANSITIONS[current.status]:
        return [_move(current, reported, outcome, via)]
    if reported is current.status:
        return _repeat(current, outcome, via)
    match current.status:
        case S.DISPATCHED:
            # The dialogue ended without money but in words the machine has no edge for.
            if reported in (S.EXPIRED, S.CANCELLED, S.REVERSED):
                return [_without_money(current, S.DECLINED, outcome, via)]
            return []
        case S.PENDING:
            if reported is S.REVERSED:
                # returned before we heard it was taken (a bank return): no money, ever
                return [_without_money(current, S.DECLINED, outcome, via)]
            if reported is S.CANCELLED:
                return [_without_money(current, S.EXPIRED, outcome, via)]
            if reported is S.NOT_SENT:
                # The channel no longer knows an order it accepted: ask again before retrying.
                note = outcome.model_copy(update={"status": S.UNKNOWN})
                return [_move(current, S.UNKNOWN, note, f"{via}: channel has no such payment")]
            return []
        case S.UNKNOWN:
            if reported in (S.EXPIRED, S.CANCELLED, S.REVERSED):
                return [_without_money(current, S.DECLINED, outcome, via)]
            return []
        case S.NOT_SENT:
            if reported in (S.SUCCEEDED, S.DECLINED, S.PENDING, S.UNKNOWN):
                # A late answer proves the attempt did reach the channel after all.
                return [
                    Change(to_status=S.DISPATCHED, data={"via": via, "late": True}),
                    _move(current, reported, outcome, via),
                ]
            return []
        case S.SUCCEEDED:
            if reported in (S.DECLINED, S.EXPIRED, S.CANCELLED, S.NOT_SENT):
                return attention(
                    current,
                    f"{via} reported {reported} after the payment succeeded",
                    Reason.LATE_CONTRADICTION,
                )
            return []
        case S.DECLINED | S.EXPIRED | S.CANCELLED | S.REVERSED:
            if reported is S.SUCCEEDED:
                return attention(
                    current,
                    f"{via} reported money taken after the payment was {current.status}",
                    Reason.LATE_CONTRADICTION,
                )
            return []
        case S.NEEDS_ATTENTION | S.CREATED:
            return []
        case _:
            assert_never(current.status)


def _note(outcome: Outcome, text: str) -> Change:
    data = _data(outcome, "")
    data["text"] = text
    return Change(event=EventType.NOTE, data=data)


def _repeat(current: Record, outcome: Outcome, via: str) -> list[Change]:
    """The same status again: a duplicate callback or a repeated answer; no state change."""
    if (
        current.status is S.SUCCEEDED
        and outcome.amount_taken is not None
        and current.amount_taken is not None
        and outcome.amount_taken != current.amount_taken
    ):
        return attention(
            current,
            f"{via} reported {outcome.amount_taken} taken, journal has {current.amount_taken}",
            Reason.AMOUNT_MISMATCH,
        )
    if current.status is S.UNKNOWN:
        return [_note(outcome, f"{via}: still no trustworthy answer ({outcome.reason_detail})")]
    return []
