"""The Collector's policy: every (current, reported) pair is handled and never goes back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from paychannels import Money, Outcome, Payment, Reason, Status
from paychannels.resolution import attention, resolve
from paychannels.status import check_transition, is_final, reportable_by_channel

NOW = datetime(2026, 1, 1, tzinfo=UTC)
REPORTABLE = [s for s in Status if reportable_by_channel(s)]


def record(status: Status) -> Payment:
    return Payment(
        id="pay_1",
        status=status,
        channel="c",
        payer_id="p",
        reference="r",
        amount=Money("10.00", "CNY"),
        idempotency_key="k",
        created_at=NOW,
        updated_at=NOW,
        amount_taken=Money("10.00", "CNY") if status is Status.SUCCEEDED else None,
    )


def walk(current: Status, changes: list) -> Status:  # type: ignore[type-arg]
    for ch in changes:
        if ch.to_status is not None:
            check_transition(current, ch.to_status)
            current = ch.to_status
    return current


@pytest.mark.parametrize("current", list(Status))
@pytest.mark.parametrize("reported", REPORTABLE)
def test_every_pair_yields_a_legal_path(current: Status, reported: Status) -> None:
    outcome = Outcome(status=reported, reason=Reason.OTHER if reported is Status.DECLINED else None)
    end = walk(current, resolve(record(current), outcome, via="test"))
    if is_final(current):
        assert end is current, "final states never move"
    if current is Status.SUCCEEDED:
        assert end in (Status.SUCCEEDED, Status.REVERSED), "paid is never undone"


@pytest.mark.parametrize(
    "late", [Status.DECLINED, Status.EXPIRED, Status.CANCELLED, Status.NOT_SENT]
)
def test_late_not_paid_after_paid_raises_attention(late: Status) -> None:
    changes = resolve(record(Status.SUCCEEDED), Outcome(status=late), via="callback")
    assert [c.to_status for c in changes] == [None]
    assert changes[0].attention and "after the payment succeeded" in changes[0].attention


def test_paid_after_declined_raises_attention() -> None:
    changes = resolve(record(Status.DECLINED), Outcome.succeeded(), via="callback")
    assert changes[0].attention and changes[0].to_status is None


def test_success_records_amount_taken_defaulting_to_requested() -> None:
    [change] = resolve(record(Status.DISPATCHED), Outcome.succeeded(), via="dispatch")
    assert change.amount_taken == Money("10.00", "CNY")
    [partial] = resolve(
        record(Status.PENDING), Outcome.succeeded(amount_taken=Money("4.00", "CNY")), via="file"
    )
    assert partial.amount_taken == Money("4.00", "CNY")


def test_duplicate_success_with_other_amount_is_flagged() -> None:
    changes = resolve(
        record(Status.SUCCEEDED), Outcome.succeeded(amount_taken=Money("9.00", "CNY")), via="cb"
    )
    assert changes and changes[0].attention and "9.00" in changes[0].attention


def test_pending_order_closed_becomes_expired() -> None:
    [change] = resolve(record(Status.PENDING), Outcome(status=Status.CANCELLED), via="cancel")
    assert change.to_status is Status.EXPIRED and change.reason is Reason.ORDER_CLOSED


def test_late_answer_for_not_sent_proves_dispatch() -> None:
    changes = resolve(record(Status.NOT_SENT), Outcome.succeeded(), via="inquiry")
    assert [c.to_status for c in changes] == [Status.DISPATCHED, Status.SUCCEEDED]


@pytest.mark.parametrize("current", list(Status))
def test_attention_is_always_legal(current: Status) -> None:
    changes = attention(record(current), "look", Reason.OTHER)
    end = walk(current, changes)
    assert any(c.attention for c in changes)
    if current in (Status.UNKNOWN, Status.PENDING, Status.DISPATCHED):
        assert end is Status.NEEDS_ATTENTION
    else:
        assert end is current


@pytest.mark.parametrize("current", [Status.PENDING, Status.UNKNOWN, Status.DISPATCHED])
def test_a_return_before_success_is_a_decline(current: Status) -> None:
    """A bank return that arrives before the booking: the money never stayed with us."""
    outcome = Outcome(status=Status.REVERSED, reason=Reason.INSUFFICIENT_FUNDS)
    changes = resolve(record(current), outcome, via="camt.054")
    assert walk(current, changes) is Status.DECLINED
    assert changes[-1].reason is Reason.INSUFFICIENT_FUNDS
