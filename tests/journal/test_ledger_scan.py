"""Lean reads for reconciliation: ``scan_ledger`` and ``state_items``, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from paychannels import Collector, Money, PaymentRequest, Status
from paychannels.channels.memory import MemoryChannel
from paychannels.journal import Change, NewRecord, open_journal
from paychannels.journal.base import Journal, LedgerRow

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def _request(i: int, *, operator: str | None = None) -> PaymentRequest:
    return PaymentRequest(
        payer_id=f"P{i:05d}",
        amount=Money("300.00", "CNY"),
        reference="2026:pension",
        idempotency_key=f"k-{i}",
        payer_name="张三",
        operator=operator,
    )


def _fill(journal: Journal, n: int) -> None:
    news = [
        NewRecord(
            id=f"pay_{i:06d}",
            kind="payment",
            channel="hall-1" if i % 2 else "wx",
            request=_request(i, operator="柜员-王" if i % 3 == 0 else None),
            fingerprint=f"f{i}",
        )
        for i in range(n)
    ]
    journal.create_many(news, now=T0)
    moves = [
        (
            f"pay_{i:06d}",
            lambda _r, i=i: [
                Change(to_status=Status.DISPATCHED),
                Change(
                    to_status=Status.SUCCEEDED,
                    amount_taken=Money.of_minor(30000 - (i % 2), "CNY"),
                    channel_ref=f"29001234/{i:04d}/000001",
                ),
            ],
        )
        for i in range(0, n, 4)
    ]
    journal.modify_many(moves, now=T0 + timedelta(minutes=5))


@pytest.mark.slow
def test_scan_ledger_streams_every_record_with_lean_columns(
    journal_url: str,
) -> None:
    journal = open_journal(journal_url, create=True)
    journal.migrate()
    try:
        _fill(journal, 1203)
        pages = list(journal.scan_ledger(page=500))
        assert [len(p) for p in pages] == [500, 500, 203]
        rows = sorted((r for p in pages for r in p), key=lambda r: r.id)
        assert len({r.id for r in rows}) == 1203
        first = rows[0]
        assert isinstance(first, LedgerRow)
        assert first.status == "SUCCEEDED" and first.taken_minor == 30000
        assert first.operator == "柜员-王" and first.channel == "wx"
        assert first.channel_ref == "29001234/0000/000001"
        assert first.created_at == T0 and first.updated_at == T0 + timedelta(minutes=5)
        assert first.created_at.tzinfo is not None
        second = rows[1]
        assert second.status == "CREATED" and second.taken_minor is None
        assert second.operator is None and second.amount_minor == 30000
        assert second.currency == "CNY" and second.reference == "2026:pension"
    finally:
        journal.close()


def test_scan_ledger_matches_records_and_sees_refunds(journal_url: str) -> None:
    with Collector.open(journal_url, create=True) as col:
        ch = MemoryChannel()
        col.add_channel("hall-1", ch)
        paid = col.collect(_request(1, operator="村协理员-李"), channel="hall-1")
        refund = col.refund(paid.id, Money("100.00", "CNY"))
        rows = {r.id: r for page in col.journal.scan_ledger() for r in page}
        assert set(rows) == {paid.id, refund.id}
        assert rows[refund.id].kind == "refund" and rows[refund.id].parent_id == paid.id
        assert rows[refund.id].operator == "村协理员-李"  # a refund keeps who collected
        record = col.status(paid.id)
        row = rows[paid.id]
        assert (row.status, row.amount_minor, row.taken_minor) == (
            record.status.value,
            record.amount.minor,
            None if record.amount_taken is None else record.amount_taken.minor,
        )
        assert row.created_at == record.created_at and row.updated_at == record.updated_at


@pytest.mark.slow
def test_scan_ledger_is_one_snapshot(journal_url: str) -> None:
    with Collector.open(journal_url, create=True) as col:
        col.add_channel("hall-1", MemoryChannel())
        for i in range(30):
            col.collect(_request(i), channel="hall-1")
        pages = col.journal.scan_ledger(page=10)
        seen = list(next(pages))
        other = Collector.open(journal_url, create=True)  # another writer meanwhile
        try:
            other.add_channel("hall-1", MemoryChannel())
            other.collect(_request(99), channel="hall-1")
        finally:
            other.close()
        for page in pages:
            seen.extend(page)
        assert len(seen) == 30


def test_state_items_lists_keys_by_prefix_across_scopes(journal_url: str) -> None:
    journal = open_journal(journal_url, create=True)
    journal.migrate()
    try:
        for scope, key, value in (
            ("hall-1", "settlement:terminal:1", {"net": 1}),
            ("wx", "settlement:provider:2026-03-01", {"net": 2}),
            ("wx", "settlement_x", {"net": 3}),
            ("wx", "SETTLEMENT:other", {"net": 4}),
            ("bank", "file:KYQ1", {"n": 5}),
        ):
            assert journal.state_put(scope, key, value, expected_version=0, now=T0)
        items = journal.state_items("settlement:")
        assert [(s, k, e.value) for s, k, e in items] == [
            ("hall-1", "settlement:terminal:1", {"net": 1}),
            ("wx", "settlement:provider:2026-03-01", {"net": 2}),
        ]
        assert all(e.version == 1 for _, _, e in items)
        assert journal.state_items("nothing:") == []
    finally:
        journal.close()


def test_the_default_scan_pages_through_find() -> None:
    """A journal without its own streaming still answers (through ``find``)."""
    journal = open_journal("sqlite:///:memory:", create=True)
    journal.migrate()
    try:
        _fill(journal, 25)
        fast = sorted(r for p in journal.scan_ledger(page=7) for r in p)
        slow = [r for p in Journal.scan_ledger(journal, page=7) for r in p]
        assert slow == fast
    finally:
        journal.close()


def test_outcome_fields_reach_the_row() -> None:
    with Collector.open("sqlite:///:memory:", create=True) as col:
        ch = MemoryChannel()
        col.add_channel("hall-1", ch)
        ch.script("insufficient_funds")
        p = col.collect(_request(5), channel="hall-1")
        (row,) = [r for page in col.journal.scan_ledger() for r in page]
        assert row.id == p.id and row.status == "DECLINED" and row.reason == "INSUFFICIENT_FUNDS"
