"""A report that money was taken and given back (a reverse of a paid payment-code order).

It walks the state machine's own edges: SUCCEEDED with the amount taken, then REVERSED,
in one write — never DECLINED (the provider's bill shows the charge and its reversal).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from paychannels import Money, Outcome, Payment, Reason, Status
from paychannels.collector.resolution import resolve
from paychannels.values.errors import InvalidRequest
from paychannels.values.status import check_transition

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def record(status: Status) -> Payment:
    return Payment(
        id="pay-1",
        status=status,
        channel="wx",
        payer_id="p",
        reference="r",
        amount=Money("5.00", "CNY"),
        idempotency_key="k",
        attempt=1,
        created_at=NOW,
        updated_at=NOW,
    )


RETURNED = Outcome(
    status=Status.REVERSED,
    amount_taken=Money("5.00", "CNY"),
    channel_ref="4200",
    reason=Reason.PIN_TIMEOUT,
    reason_detail="WECHATPAY:REVOKED",
)


@pytest.mark.parametrize("current", [Status.DISPATCHED, Status.UNKNOWN, Status.PENDING])
def test_taken_then_returned_walks_succeeded_then_reversed(current: Status) -> None:
    steps = resolve(record(current), RETURNED, via="dispatch", attempt=1)
    assert [s.to_status for s in steps] == [Status.SUCCEEDED, Status.REVERSED]
    assert steps[0].amount_taken == Money("5.00", "CNY")
    assert steps[0].channel_ref == "4200"
    check_transition(current, Status.SUCCEEDED)
    check_transition(Status.SUCCEEDED, Status.REVERSED)


def test_succeeded_then_reported_returned_is_reversed() -> None:
    steps = resolve(record(Status.SUCCEEDED), RETURNED, via="inquiry", attempt=1)
    assert [s.to_status for s in steps] == [Status.REVERSED]


def test_returned_without_amount_is_still_a_decline() -> None:
    plain = RETURNED.model_copy(update={"amount_taken": None})
    steps = resolve(record(Status.DISPATCHED), plain, via="dispatch", attempt=1)
    assert [s.to_status for s in steps] == [Status.DECLINED]


def test_amount_taken_goes_only_with_succeeded_or_reversed() -> None:
    with pytest.raises(InvalidRequest, match="amount_taken"):
        Outcome(status=Status.DECLINED, amount_taken=Money("1.00", "CNY"))
