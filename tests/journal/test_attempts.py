"""News names the dispatch attempt it is about; news about an earlier attempt is recorded
and never applied to a later one — for callbacks/notices and result-file rows alike."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from paychannels import Collector, MemoryChannel, Money, Outcome, PaymentRequest, Reason, Status
from paychannels.channels.base import Notice
from paychannels.channels.memory import Behaviour
from paychannels.values.models import Payment
from tests.journal.test_bulk_results import ListReport

REQ = PaymentRequest(
    payer_id="P1", amount=Money("50.00", "CNY"), reference="2026", idempotency_key="k-1"
)


@pytest.fixture
def col(journal_url: str) -> Iterator[Collector]:
    c = Collector.open(journal_url, create=True)
    c.add_channel("app", MemoryChannel())
    yield c
    c.close()


def second_attempt_pending(col: Collector) -> Payment:
    device = col.channel("app")
    assert isinstance(device, MemoryChannel)
    device.script(Behaviour.REFUSE, Behaviour.PENDING)
    assert col.collect(REQ, channel="app").status is Status.NOT_SENT
    pay = col.collect(REQ, channel="app")
    assert (pay.status, pay.attempt) == (Status.PENDING, 2)
    return pay


def stale_notes(col: Collector, record_id: str) -> list[tuple[object, object]]:
    return [
        (e.data["about_attempt"], e.data["reported"])
        for e in col.events(payment_id=record_id)
        if e.data.get("stale")
    ]


def test_a_notice_about_an_earlier_attempt_is_recorded_not_applied(col: Collector) -> None:
    pay = second_attempt_pending(col)
    refused = Outcome.declined(Reason.CARD_DECLINED, "05")
    old = Notice(payment_id=pay.id, attempt=1, outcome=refused, verified=True, source="cb")
    assert col.handle_notice("app", old).status is Status.PENDING  # type: ignore[union-attr]
    assert stale_notes(col, pay.id) == [(1, "DECLINED")]
    now = Notice(payment_id=pay.id, attempt=2, outcome=refused, verified=True, source="cb")
    assert col.handle_notice("app", now).status is Status.DECLINED  # type: ignore[union-attr]


def test_a_result_row_about_an_earlier_attempt_is_recorded_not_applied(col: Collector) -> None:
    from paychannels.values.results import ResultRow

    pay = second_attempt_pending(col)
    old = ResultRow(pay.id, Status.DECLINED, attempt=1, reason=Reason.ACCOUNT_CLOSED)
    summary = col.apply_report("app", ListReport([old]))
    assert col.status(pay.id).status is Status.PENDING and summary.moved == {}
    assert stale_notes(col, pay.id) == [(1, "DECLINED")]
    paid = ResultRow(pay.id, Status.SUCCEEDED, attempt=2, taken_minor=5000)
    summary = col.apply_report("app", ListReport([paid]))
    assert col.status(pay.id).status is Status.SUCCEEDED and summary.moved == {"SUCCEEDED": 1}
    [moved] = [e for e in col.events(payment_id=pay.id) if e.to_status is Status.SUCCEEDED]
    assert moved.data["attempt"] == 2
