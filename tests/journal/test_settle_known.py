"""The answer is written on the record as dispatch wrote it, without reading the row back,
only while the row is still at that version (issue 12 item 11: a statement and a row's
conversion a payment). A row that moved in between — recovery in another process marked it
UNKNOWN — is read and decided on as it is: the answer never lands on a state it was not
decided on. Both backends."""

from __future__ import annotations

from datetime import UTC, datetime

from paychannels import Collector, MemoryChannel, Money, PaymentRequest, Status
from paychannels.channels.base import ChannelContext
from paychannels.journal import open_journal
from paychannels.journal.base import Change
from paychannels.values.models import Outcome, Payment


def _request(i: int) -> PaymentRequest:
    return PaymentRequest(
        payer_id=f"15042219900101{i:04d}",
        amount=Money("380.00", "CNY"),
        reference=f"known-{i}",
        idempotency_key=f"known-{i}",
    )


class RecoveredMeanwhile(MemoryChannel):
    """Answers SUCCEEDED after another process's recovery marked the payment UNKNOWN."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url

    def start(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        outcome = super().start(payment, ctx)
        other = open_journal(self.url)
        try:
            other.modify(
                payment.id,
                lambda r: [Change(to_status=Status.UNKNOWN, reason_detail="lease expired")],
                now=datetime.now(UTC),
            )
        finally:
            other.close()
        return outcome


def test_the_answer_goes_on_the_row_as_it_is_when_it_moved(journal_url: str) -> None:
    with Collector.open(journal_url, create=True) as col:
        col.add_channel("moved", RecoveredMeanwhile(journal_url))
        col.add_channel("still", MemoryChannel())
        moved = col.collect(_request(1), channel="moved")
        still = col.collect(_request(2), channel="still")
        assert moved.status is Status.SUCCEEDED and still.status is Status.SUCCEEDED
        journal = open_journal(journal_url)
        try:
            steps = [
                (e.from_status, e.to_status)
                for e in journal.events(record_id=moved.id)
                if e.to_status is not None
            ]
            plain = [
                (e.from_status, e.to_status)
                for e in journal.events(record_id=still.id)
                if e.to_status is not None
            ]
            row = journal.get(moved.id)
        finally:
            journal.close()
    # decided on the UNKNOWN row, not on the DISPATCHED record dispatch had in hand
    assert steps[-2:] == [
        (Status.DISPATCHED, Status.UNKNOWN),
        (Status.UNKNOWN, Status.SUCCEEDED),
    ]
    assert plain[-1] == (Status.DISPATCHED, Status.SUCCEEDED)
    assert row.status is Status.SUCCEEDED and row.version == moved.version
