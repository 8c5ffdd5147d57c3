"""The set-based path for bulk reports, on SQLite and PostgreSQL.

The strongest check: for every (current status, reported row) pair, applying the row through
``Collector.apply_report`` (SQL for the plain moves) leaves exactly the record and events that
the Python policy (``modify_many`` + ``resolve``) leaves for a twin payment — compared as
objects and as the stored text of every column, JSON byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from paychannels import Collector, Money, PaychannelsError, PaymentRequest, ProtocolError, Reason
from paychannels import Status as S  # noqa: N817 - the table reads better short
from paychannels.collector.results import row_decision
from paychannels.journal import Change, NewRecord
from paychannels.values.results import Report, ReportSummary, ResultRow
from tests.journal.stored import stored_rows

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
VIA = "pain.002 RESULT_1.xml"

# how to bring a fresh DISPATCHED payment into each status
PATHS: dict[S, list[Change]] = {
    S.DISPATCHED: [],
    S.PENDING: [Change(to_status=S.PENDING, channel_ref="E2E-OLD")],
    S.UNKNOWN: [Change(to_status=S.UNKNOWN)],
    S.NOT_SENT: [Change(to_status=S.NOT_SENT)],
    S.SUCCEEDED: [Change(to_status=S.SUCCEEDED, amount_taken=Money("380.00", "CNY"))],
    S.DECLINED: [Change(to_status=S.DECLINED, reason=Reason.INSUFFICIENT_FUNDS)],
    S.REVERSED: [
        Change(to_status=S.SUCCEEDED, amount_taken=Money("380.00", "CNY")),
        Change(to_status=S.REVERSED),
    ],
    S.EXPIRED: [Change(to_status=S.PENDING), Change(to_status=S.EXPIRED)],
    S.NEEDS_ATTENTION: [
        Change(to_status=S.UNKNOWN),
        Change(to_status=S.NEEDS_ATTENTION, attention="look"),
    ],
}

ROWS = [
    ResultRow("", S.SUCCEEDED, reason_detail="ACSC", channel_ref="E2E-1"),
    ResultRow("", S.SUCCEEDED, taken_minor=12_345, message="partial debit"),
    ResultRow("", S.SUCCEEDED, taken_minor=38_000, amount_minor=38_000, currency="CNY"),
    ResultRow("", S.DECLINED, reason=Reason.INSUFFICIENT_FUNDS, reason_detail="AM04: no money"),
    ResultRow("", S.PENDING, reason_detail="ACSP"),
    ResultRow("", S.REVERSED, reason=Reason.REFUSED_BY_DEBTOR, reason_detail="MS02 return"),
    ResultRow("", S.UNKNOWN, reason_detail="unreadable"),
    ResultRow("", S.EXPIRED),
    ResultRow("", S.NOT_SENT),
    ResultRow("", S.DECLINED, amount_minor=1),  # amount mismatch
    ResultRow("", S.SUCCEEDED, currency="EUR"),  # currency mismatch
    ResultRow("", S.SUCCEEDED, problem="unknown status code XYZ1", reason=Reason.UNMAPPED),
    ResultRow("", S.SUCCEEDED, attempt=0, channel_ref="E2E-0"),  # names the current attempt
    ResultRow("", S.DECLINED, attempt=7, reason=Reason.ACCOUNT_CLOSED),  # another attempt's
    ResultRow("", S.SUCCEEDED, attempt=7),  # money taken by another attempt: a person looks
]


class ListReport(Report):
    def __init__(self, rows: list[ResultRow], *, fail_after: int | None = None) -> None:
        self._rows = rows
        self.fail_after = fail_after
        self.source = VIA
        self.outcome: ReportSummary | PaychannelsError | None = None

    def rows(self) -> Iterator[ResultRow]:
        for i, row in enumerate(self._rows):
            if self.fail_after is not None and i == self.fail_after:
                raise ProtocolError(f"RESULT_1.xml line {i + 7}: truncated")
            yield row

    def applied(self, summary: ReportSummary) -> None:
        self.outcome = summary

    def rejected(self, error: PaychannelsError) -> None:
        self.outcome = error


def _make(col: Collector, rid: str, status: S, channel: str = "bank") -> None:
    i = abs(hash(rid)) % 10**6
    r = PaymentRequest(
        payer_id=f"P{rid}",
        amount=Money("380.00", "CNY"),
        reference="2026",
        idempotency_key=f"k-{rid}-{i}",
    )
    new = NewRecord(rid, "payment", channel, r, r.fingerprint(channel))
    col.journal.create(new, now=T0, then=[Change(to_status=S.DISPATCHED)])
    for step in PATHS[status]:
        col.journal.modify(rid, lambda _c, s=step: [s], now=T0)


def _shape(col: Collector, rid: str) -> tuple[object, ...]:
    r = col.journal.get(rid)
    events = [
        (e.type, e.from_status, e.to_status, json.dumps(e.data, sort_keys=True))
        for e in col.events(payment_id=rid)[1:]  # the CREATED event holds a fingerprint
    ]
    return (
        r.status,
        r.amount_taken,
        r.channel_ref,
        r.reason,
        r.reason_detail,
        r.attention,
        r.version,
        r.claimed_by,
        tuple(events),
    )


@pytest.fixture
def col(journal_url: str) -> Iterator[Collector]:
    from paychannels import ManualClock, MemoryChannel

    c = Collector.open(journal_url, clock=ManualClock(T0), create=True)
    c.add_channel("bank", MemoryChannel())
    c.add_channel("other", MemoryChannel())
    yield c
    c.close()


def _stored(url: str, rid: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    """A payment's row and its events after CREATED as the database holds them, each value
    as the database's own text (JSON byte for byte); the twin's own id and payer replaced."""
    payment = "SELECT * FROM pc_payments WHERE id = ?"
    events = (
        "SELECT at, type, from_status, to_status, data, columns_set FROM pc_events "
        "WHERE payment_id = ? ORDER BY seq"
    )
    (row,) = stored_rows(url, payment, (rid,))
    evs = stored_rows(url, events, (rid,))
    own = ("id", "payer_id", "idempotency_key", "request_json", "fingerprint")

    def text(value: object) -> str:
        shown = value if isinstance(value, str) else repr(value)
        return shown.replace(rid, "<id>").replace(rid[4:], "<id>")

    stored = {k: text(v) for k, v in row.items() if k not in own}
    return stored, [{k: text(v) for k, v in e.items()} for e in evs[1:]]


@pytest.mark.slow
def test_set_based_moves_equal_the_python_policy(col: Collector, journal_url: str) -> None:
    bulk: list[ResultRow] = []
    pairs: list[tuple[str, str]] = []
    for si, status in enumerate(PATHS):
        for ri, row in enumerate(ROWS):
            a, b = f"pay_a{si:02d}{ri:02d}", f"pay_b{si:02d}{ri:02d}"
            _make(col, a, status)
            _make(col, b, status)
            pairs.append((a, b))
            bulk.append(ResultRow(**{**_fields(row), "payment_id": a}))
            foreign: set[str] = set()
            decide = row_decision(
                ResultRow(**{**_fields(row), "payment_id": b}), VIA, "bank", foreign
            )
            col.journal.modify(b, decide, now=T0)
    report = ListReport(bulk)
    summary = col.apply_report("bank", report)
    assert report.outcome is summary and summary.error is None
    assert summary.rows == len(bulk)
    for a, b in pairs:
        assert _shape(col, a) == _shape(col, b), (a, b)
        assert _stored(journal_url, a) == _stored(journal_url, b), (a, b)
        assert col.journal.verify(a) == []
    assert summary.moved.get("SUCCEEDED", 0) > 0 and summary.moved.get("REVERSED", 0) > 0
    assert summary.attention > 0


def _fields(row: ResultRow) -> dict[str, object]:
    return {name: getattr(row, name) for name in ResultRow.__slots__}  # type: ignore[attr-defined]


@pytest.mark.slow
def test_a_report_that_fails_while_read_changes_nothing(col: Collector) -> None:
    for i in range(30):
        _make(col, f"pay_{i:03d}", S.PENDING)
    before = col.events()
    rows = [ResultRow(f"pay_{i:03d}", S.SUCCEEDED) for i in range(30)]
    report = ListReport(rows, fail_after=25)
    summary = col.apply_report("bank", report)
    assert isinstance(report.outcome, ProtocolError)
    assert summary.error and "line 32" in summary.error and summary.rows == 0
    assert col.events() == before
    assert col.journal.count_by_status() == {S.PENDING: 30}


def test_duplicates_unknown_and_foreign_rows(col: Collector) -> None:
    _make(col, "pay_1", S.PENDING)
    _make(col, "pay_2", S.PENDING)
    _make(col, "pay_3", S.PENDING, channel="other")
    rows = [
        ResultRow("pay_1", S.SUCCEEDED, taken_minor=38_000),
        ResultRow("pay_1", S.REVERSED, reason=Reason.INSUFFICIENT_FUNDS, reason_detail="AM04"),
        ResultRow("pay_2", S.DECLINED, reason=Reason.ACCOUNT_CLOSED, reason_detail="AC04"),
        ResultRow("pay_404", S.SUCCEEDED),
        ResultRow("pay_3", S.SUCCEEDED),
    ]
    summary = col.apply_report("bank", ListReport(rows))
    assert col.status("pay_1").status is S.REVERSED  # booked, then returned: in file order
    assert col.status("pay_2").status is S.DECLINED
    assert col.status("pay_3").status is S.PENDING
    assert summary.unmatched == 2
    assert summary.moved == {"SUCCEEDED": 1, "REVERSED": 1, "DECLINED": 1}
    again = col.apply_report("bank", ListReport(rows[2:3]))
    assert again.unchanged == 1 and again.moved == {}


@pytest.mark.slow
def test_bulk_moves_reach_subscribers_and_count_money(col: Collector) -> None:
    for i in range(120):
        _make(col, f"pay_{i:03d}", S.PENDING)
    seen: list[object] = []
    col.subscribe(seen.append)
    rows = [ResultRow(f"pay_{i:03d}", S.SUCCEEDED, taken_minor=100 + i) for i in range(100)]
    rows += [
        ResultRow(f"pay_{i:03d}", S.DECLINED, reason=Reason.NO_MANDATE) for i in range(100, 120)
    ]
    summary = col.apply_report("bank", ListReport(rows))
    assert summary.moved == {"SUCCEEDED": 100, "DECLINED": 20}
    assert summary.taken_minor == sum(100 + i for i in range(100))
    assert len(seen) == 120
    assert col.status("pay_007").amount_taken == Money.of_minor(107, "CNY")
    events = col.events(payment_id="pay_007")
    assert events[-1].data["amount_taken_minor"] == 107 and events[-1].data["via"] == VIA


def test_a_record_named_twice_in_one_bulk_write_is_published_once(col: Collector) -> None:
    """Two changes to one payment in one transaction (two callbacks grouped in one commit,
    two rows of a file) write their events once; the event stream must carry them once too
    (a subscriber counting transitions — the metrics — saw 15 credits for 8 payments)."""
    from paychannels.values.models import Outcome

    _make(col, "pay_1", S.PENDING)
    before = len(col.events(payment_id="pay_1"))
    seen: list[object] = []
    col.subscribe(seen.append)
    paid = Outcome.succeeded(channel_ref="r1")
    col.apply_outcomes([("pay_1", paid), ("pay_1", paid)], via="bank")
    written = col.events(payment_id="pay_1")[before:]
    assert written and seen == written


def _seq_gap(url: str, size: int) -> None:
    """Leave ``size`` event numbers unused, as any rolled-back append does on PostgreSQL (a
    sequence never gives a number back) and a restore or a pruned tail can on SQLite."""
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        with conn:
            conn.execute(
                "UPDATE sqlite_sequence SET seq = seq + ? WHERE name = 'pc_events'", (size,)
            )
        conn.close()
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as pg:
        for _ in range(size):
            pg.execute("SELECT nextval(pg_get_serial_sequence('pc_events', 'seq'))")


def test_bulk_moves_after_a_gap_in_event_numbers_all_reach_subscribers(
    col: Collector, journal_url: str
) -> None:
    """The chunk's event range is what was appended, not ``max(seq) + 1`` onwards: after a
    gap a subscriber must still get every event (it lost the last ones: 2,105 of 2,110)."""
    n = 2_110  # more than one page of published events
    news = []
    for i in range(n):
        r = PaymentRequest(
            payer_id=f"P{i}",
            amount=Money("380.00", "CNY"),
            reference="2026",
            idempotency_key=f"gap-{i}",
        )
        news.append(NewRecord(f"pay_g{i:05d}", "payment", "bank", r, r.fingerprint("bank")))
    col.journal.create_many(
        news, now=T0, then=[Change(to_status=S.DISPATCHED), Change(to_status=S.PENDING)]
    )
    _seq_gap(journal_url, 5)
    seen: list[object] = []
    col.subscribe(seen.append)
    rows = [ResultRow(f"pay_g{i:05d}", S.SUCCEEDED) for i in range(n)]
    summary = col.apply_report("bank", ListReport(rows))
    assert summary.moved == {"SUCCEEDED": n}
    written = [e for e in col.events(limit=5 * n) if e.to_status is S.SUCCEEDED]
    assert len(written) == n
    assert seen == written
