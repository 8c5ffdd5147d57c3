"""A payment the channel saw taken and then given back (an Alipay cancel of a paid trade).

The machine has REVERSED only after SUCCEEDED, so a report "taken, then returned" from a
payment still being dispatched or in doubt walks both edges: the charge is in the journal,
and so is its return — never a silent DECLINED that hides money that moved twice.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from paychannels import Money, Outcome, Payment, Reason, Status
from paychannels.collector.resolution import resolve

NOW = datetime(2026, 1, 1, tzinfo=UTC)
TAKEN = Money("10.00", "CNY")


def record(status: Status) -> Payment:
    return Payment(
        id="pay_1",
        status=status,
        channel="c",
        payer_id="p",
        reference="r",
        amount=TAKEN,
        idempotency_key="k",
        created_at=NOW,
        updated_at=NOW,
        attempt=1,
    )


def returned() -> Outcome:
    return Outcome(
        status=Status.REVERSED, amount_taken=TAKEN, channel_ref="2026T1", reason_detail="x"
    )


@pytest.mark.parametrize("current", [Status.DISPATCHED, Status.PENDING, Status.UNKNOWN])
def test_taken_then_returned_walks_succeeded_then_reversed(current: Status) -> None:
    steps = resolve(record(current), returned(), via="dispatch", attempt=1)
    assert [s.to_status for s in steps] == [Status.SUCCEEDED, Status.REVERSED]
    assert steps[0].amount_taken == TAKEN and steps[0].channel_ref == "2026T1"
    assert all(s.attempt == 1 for s in steps)


def test_taken_then_returned_after_not_sent_is_late_proof_of_sending() -> None:
    steps = resolve(record(Status.NOT_SENT), returned(), via="inquiry", attempt=1)
    assert [s.to_status for s in steps] == [Status.DISPATCHED, Status.SUCCEEDED, Status.REVERSED]


def test_a_return_that_names_no_money_taken_stays_a_decline() -> None:
    outcome = Outcome(status=Status.REVERSED, reason=Reason.INSUFFICIENT_FUNDS)
    steps = resolve(record(Status.PENDING), outcome, via="file", attempt=None)
    assert [s.to_status for s in steps] == [Status.DECLINED]


def test_amount_taken_goes_with_succeeded_or_reversed_only() -> None:
    with pytest.raises(ValueError, match="amount_taken"):
        Outcome(status=Status.DECLINED, amount_taken=TAKEN)
