"""The Collector's policy: every (current, reported) pair is handled and never goes back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from paychannels import Money, Outcome, Payment, Reason, Status
from paychannels.collector.resolution import attention, resolve
from paychannels.values.status import check_transition, is_final, reportable_by_channel

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
    end = walk(current, resolve(record(current), outcome, via="test", attempt=None))
    if is_final(current):
        assert end is current, "final states never move"
    if current is Status.SUCCEEDED:
        assert end in (Status.SUCCEEDED, Status.REVERSED), "paid is never undone"


@pytest.mark.parametrize(
    "late", [Status.DECLINED, Status.EXPIRED, Status.CANCELLED, Status.NOT_SENT]
)
def test_late_not_paid_after_paid_raises_attention(late: Status) -> None:
    changes = resolve(record(Status.SUCCEEDED), Outcome(status=late), via="callback", attempt=None)
    assert [c.to_status for c in changes] == [None]
    assert changes[0].attention and "after the payment succeeded" in changes[0].attention


def test_paid_after_declined_raises_attention() -> None:
    changes = resolve(record(Status.DECLINED), Outcome.succeeded(), via="callback", attempt=None)
    assert changes[0].attention and changes[0].to_status is None


def test_success_records_amount_taken_defaulting_to_requested() -> None:
    [change] = resolve(record(Status.DISPATCHED), Outcome.succeeded(), via="dispatch", attempt=None)
    assert change.amount_taken == Money("10.00", "CNY")
    [partial] = resolve(
        record(Status.PENDING),
        Outcome.succeeded(amount_taken=Money("4.00", "CNY")),
        via="file",
        attempt=None,
    )
    assert partial.amount_taken == Money("4.00", "CNY")


def test_duplicate_success_with_other_amount_is_flagged() -> None:
    changes = resolve(
        record(Status.SUCCEEDED),
        Outcome.succeeded(amount_taken=Money("9.00", "CNY")),
        via="cb",
        attempt=None,
    )
    assert changes and changes[0].attention and "9.00" in changes[0].attention


def test_pending_order_closed_becomes_expired() -> None:
    [change] = resolve(
        record(Status.PENDING), Outcome(status=Status.CANCELLED), via="cancel", attempt=None
    )
    assert change.to_status is Status.EXPIRED and change.reason is Reason.ORDER_CLOSED


def test_late_answer_for_not_sent_proves_dispatch() -> None:
    changes = resolve(record(Status.NOT_SENT), Outcome.succeeded(), via="inquiry", attempt=None)
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
    changes = resolve(record(current), outcome, via="camt.054", attempt=None)
    assert walk(current, changes) is Status.DECLINED
    assert changes[-1].reason is Reason.INSUFFICIENT_FUNDS


def at_attempt(status: Status, attempt: int, channel_ref: str | None = None) -> Payment:
    return record(status).model_copy(update={"attempt": attempt, "channel_ref": channel_ref})


@pytest.mark.parametrize("current", list(Status))
@pytest.mark.parametrize("reported", REPORTABLE)
def test_an_answer_about_an_older_attempt_is_recorded_never_applied(
    current: Status, reported: Status
) -> None:
    outcome = Outcome(status=reported, reason=Reason.OTHER if reported is Status.DECLINED else None)
    changes = resolve(at_attempt(current, 2), outcome, via="recovery inquiry", attempt=1)
    assert all(c.to_status is None for c in changes), "a stale answer moved the state"
    assert changes[0].data["stale"] is True and changes[0].data["about_attempt"] == 1
    flagged = [c for c in changes if c.attention]
    assert bool(flagged) == (reported is Status.SUCCEEDED)


def test_a_stale_success_already_held_raises_nothing() -> None:
    held = at_attempt(Status.SUCCEEDED, 2, channel_ref="R-1")
    changes = resolve(held, Outcome.succeeded(channel_ref="R-1"), via="dispatch", attempt=1)
    assert [c.attention for c in changes] == [None]


def test_an_answer_about_the_current_attempt_names_it_in_every_step() -> None:
    changes = resolve(at_attempt(Status.NOT_SENT, 3), Outcome.succeeded(), via="x", attempt=3)
    assert [c.to_status for c in changes] == [Status.DISPATCHED, Status.SUCCEEDED]
    assert {c.attempt for c in changes} == {3}


def test_the_journal_refuses_a_step_about_another_attempt() -> None:
    from paychannels.journal import Change
    from paychannels.journal.plan import plan
    from paychannels.values.errors import IllegalTransition

    step = Change(to_status=Status.NOT_SENT, attempt=1)
    with pytest.raises(IllegalTransition, match="attempt 1 cannot change attempt 2"):
        plan(at_attempt(Status.DISPATCHED, 2), [step], NOW)
    assert plan(at_attempt(Status.DISPATCHED, 1), [step], NOW).events[0].data["attempt"] == 1
