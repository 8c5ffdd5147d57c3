"""A result file of millions of rows (issue 16, item 3): read once, in small memory, and a file
whose rows name payments this journal never held refused before anything is applied.

Real cycle: bank payments collected, cut into request files, the bank's pain.002 answering
them written with the simulator's writer; the journal on SQLite and PostgreSQL where it is
involved. Scale itself is measured by ``benchmarks/bank_ingest_scale.py``, not here: these
tests pin the shape of the cost (reads per file, bytes per row), which does not depend on
the machine's load.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import JsonValue

from paychannels import Collector, MemoryChannel, Status
from paychannels.bankfiles.errors import UnknownBatch
from paychannels.bankfiles.model import Debit
from paychannels.bankfiles.split import Limits
from paychannels.channels.bank import BankBatchChannel
from paychannels.channels.bank.exchange import Exchange
from paychannels.channels.bank.flush import archived_debits
from paychannels.channels.bank.formats import open_format
from paychannels.channels.bank.ingest import ResultFileReport, file_sha256
from paychannels.channels.bank.ledger import Ledger
from paychannels.channels.bank.members import Members, RefSet, archived_refs
from paychannels.channels.bank.spool import to_line
from paychannels.channels.base import ChannelContext
from paychannels.journal.base import StateEntry
from paychannels.runtime.clock import Clock
from paychannels.simulators.bank.replies import TxReply, write_pain002
from paychannels.values.paymentcode import PaymentCode
from paychannels.values.results import Report, ResultRow
from tests.bank.conftest import CREDITOR, Sent, bank_request, clock, sent_file


def _answer(path: Path, sent: Sent, refs: list[str] | None = None) -> Path:
    """The bank's pain.002 for ``sent``: every debit settled (or ``refs`` instead of its own)."""
    replies = (
        TxReply(ref, "ACSC", minor, "CNY", None)
        for ref, minor in zip(refs or sent.e2e, sent.minor, strict=True)
    )
    with open(path, "w", encoding="utf-8") as out:
        write_pain002(
            out,
            version="10",
            msg_id=f"RPT{sent.msg_id[-6:]}",
            created_at=datetime(2026, 3, 3, 9, 0, tzinfo=UTC),
            original_msg_id=sent.msg_id,
            original_message="pain.008.001.08",
            original_count=len(sent.e2e),
            group_status="PART",
            batches=[(sent.batch, replies)],
        )
    return path


class CountingContext:
    """A ``ChannelContext`` that counts the channel-state reads it passes on."""

    def __init__(self, inner: ChannelContext) -> None:
        self.inner = inner
        self.reads = 0

    @property
    def channel_name(self) -> str:
        return self.inner.channel_name

    @property
    def clock(self) -> Clock:
        return self.inner.clock

    def progress(self, text: str, **data: JsonValue) -> None:
        self.inner.progress(text, **data)

    def next_number(self, key: str, *, start: int = 1) -> int:
        return self.inner.next_number(key, start=start)

    def state_get(self, key: str) -> StateEntry | None:
        self.reads += 1
        return self.inner.state_get(key)

    def state_put(self, key: str, value: JsonValue, *, expected_version: int) -> bool:
        return self.inner.state_put(key, value, expected_version=expected_version)

    def lock(self, name: str, *, timeout: float) -> AbstractContextManager[None]:
        return self.inner.lock(name, timeout=timeout)

    def crashpoint(self, name: str) -> None:
        self.inner.crashpoint(name)

    def take_payment_code(self) -> PaymentCode | None:
        return self.inner.take_payment_code()


@dataclass
class Bank:
    col: Collector
    ch: BankBatchChannel
    files: list[Sent]

    def report(self, path: Path, ctx: ChannelContext | None = None) -> ResultFileReport:
        return ResultFileReport(
            path=path,
            sha256=file_sha256(path),
            layout=None,
            ledger=Ledger(ctx or self.col.channel_context("bank")),
            exchange=self.ch.exchange,
            move=False,
        )


def _bank(url: str, tmp_path: Path, n: int, per_file: int) -> Iterator[Bank]:
    ch = BankBatchChannel(
        tmp_path / "x",
        format=open_format("pain.008.001.08"),
        creditor=CREDITOR,
        limits=Limits(rows_per_file=per_file),
    )
    with Collector.open(url, clock=clock(), create=True) as col:
        col.add_channel("bank", ch)
        col.collect_many([bank_request(i) for i in range(n)], channel="bank")
        col.poll("bank")
        files = [sent_file(p) for p in sorted(ch.exchange.outbox.iterdir())]
        yield Bank(col, ch, files)


@pytest.fixture
def bank(tmp_path: Path) -> Iterator[Bank]:
    yield from _bank(f"sqlite:///{tmp_path}/j.db", tmp_path, 1_200, 1_000)


def test_a_result_file_reads_each_ledger_entry_once_not_once_per_row(
    bank: Bank, tmp_path: Path
) -> None:
    """Every row names the request file it answers; its ledger entry is read once per
    result file (a journal query and a JSON parse per row were a third of the reading)."""
    a = bank.files[0]
    ctx = CountingContext(bank.col.channel_context("bank"))
    report = bank.report(_answer(tmp_path / "A.xml", a), ctx)
    rows = list(report.rows())
    assert len(rows) == len(a.e2e) == 1_000
    assert ctx.reads <= 3, f"{ctx.reads} ledger reads for one result file"


def _held(bank: Bank, sent: Sent, path: Path) -> int:
    """Bytes (Python allocations) the reader still holds once its last row was read."""
    report = bank.report(_answer(path, sent))
    gc.collect()
    tracemalloc.start()
    try:
        rows = report.rows()
        before = tracemalloc.get_traced_memory()[0]
        count = sum(1 for _row in rows)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert count == len(sent.e2e)
    return held


def test_reading_a_result_file_holds_a_few_bytes_per_row(bank: Bank, tmp_path: Path) -> None:
    """Memory a reader keeps per row is what makes 3,000,000 rows flat or not: the index of
    the request file and the rows seen are 64-bit digests (8-10 bytes a row), not strings in
    a dict and a set (~250 bytes a row). Measured as the growth from a 200-row file to a
    1,000-row one, so fixed costs do not count."""
    a, b = bank.files
    assert (len(a.e2e), len(b.e2e)) == (1_000, 200)
    _held(bank, b, tmp_path / "warm.xml")  # caches of the first read do not count
    small = _held(bank, b, tmp_path / "B.xml")
    large = _held(bank, a, tmp_path / "A.xml")
    per_row = (large - small) / 800
    assert per_row < 40, f"{per_row:.0f} bytes held per row"


def test_the_fast_index_finds_exactly_the_debits_of_the_file_and_batch(
    bank: Bank, tmp_path: Path
) -> None:
    """A row of the other file is still refused by name (the digest index is exact enough)."""
    a, b = bank.files
    refs = [b.e2e[0], *a.e2e[1:]]
    report = bank.report(_answer(tmp_path / "MIXED.xml", a, refs))
    summary = bank.col.apply_report("bank", report)
    assert summary.error and b.e2e[0] in summary.error and a.msg_id in summary.error
    assert bank.col.journal.count_by_status() == {Status.PENDING: 1_200}
    summary = bank.col.apply_report("bank", bank.report(_answer(tmp_path / "A.xml", a)))
    assert summary.error is None and summary.moved == {"SUCCEEDED": 1_000}


def _debit(i: int) -> Debit:
    return Debit(
        f"01JD3M8Q2W5X7Y9Z0ABCDE{i:04d}-1",
        38_000 + i,
        "CNY",
        "张三",
        f"6217000010{i:09d}",
        "105191000011",
        f"DK{i:08d}",
        date(2025, 3, 1),
        date(2026, 3, 4),
        payment_id=f"pay_01JD3M8Q2W5X7Y9Z0ABCDE{i:04d}",
    )


def test_the_index_holds_the_same_debits_as_the_archive_reader(tmp_path: Path) -> None:
    """Cancelled debits, a torn last line, a name needing JSON escapes, batches in a row, an
    entry that starts at a byte offset: the fast reader agrees with the spool's own."""
    path = tmp_path / "archive.jsonl"
    lines = [to_line(_debit(i)) for i in range(10)]
    lines.insert(3, b'{"x":"01JD3M8Q2W5X7Y9Z0ABCDE0001-1"}\n')
    odd = Debit(**{**{f: getattr(_debit(10), f) for f in Debit.__slots__}, "name": 'a"\\b'})
    lines += [to_line(odd), b'{"e":"01JD3M8Q2W5X7Y9Z0ABCDE0099-1","p":']
    path.write_bytes(b"".join(lines))
    entry: dict[str, Any] = {
        "msg_id": "M1",
        "archive": path.name,
        "batches": [["M1-001", 2, 3, 0], ["M1-002", 5, 4, 0]],
    }
    exchange = Exchange(tmp_path)
    (tmp_path / "archive").mkdir()
    (tmp_path / "archive" / path.name).write_bytes(path.read_bytes())
    expected = [
        (i, d.end_to_end_id)
        for i, batch in enumerate(entry["batches"])
        for d in archived_debits(exchange, entry, batch[0])
    ]
    assert len(expected) == 7
    assert list(archived_refs(path, entry)) == expected
    members = Members.of(path, entry)
    assert [members.batch_of(ref) for _i, ref in expected] == ["M1-001"] * 3 + ["M1-002"] * 4
    assert members.batch_of(_debit(0).end_to_end_id) is None  # before the file's first debit
    assert members.batch_of("01JD3M8Q2W5X7Y9Z0ABCDE0001-1") is None  # cancelled
    offset = sum(len(line) for line in lines[:2])
    later = {**entry, "offset": offset, "skip": ["01JD3M8Q2W5X7Y9Z0ABCDE0003-1"]}
    later["batches"] = [["M1-001", 0, 2, 0]]
    assert [ref[-7:] for _i, ref in archived_refs(path, later)] == ["E0002-1", "E0004-1"]


@pytest.fixture
def strange_journal(journal_url: str, tmp_path: Path) -> Iterator[tuple[Bank, Collector]]:
    """The bank's folder of one journal, and a second, empty journal pointed at it (a
    restore from an old backup, a county's folder mounted for another county)."""
    for bank in _bank(journal_url, tmp_path / "a", 300, 1_000):
        with Collector.open(f"sqlite:///{tmp_path}/other.db", clock=clock(), create=True) as other:
            other.add_channel("bank", bank.ch)
            for key in (f"file:{bank.files[0].msg_id}",):
                entry = bank.col.channel_context("bank").state_get(key)
                assert entry is not None
                other.channel_context("bank").state_put(key, entry.value, expected_version=0)
            yield bank, other


def test_a_file_whose_rows_name_payments_this_journal_never_held_is_refused_whole(
    strange_journal: tuple[Bank, Collector], tmp_path: Path
) -> None:
    """Rows that are debits of a file we sent, for payments the journal does not hold: the
    journal and the folder disagree, so the file is refused before anything is applied
    (one set join after staging), not applied as 300,000 'unmatched' rows one by one and
    then recorded as done — which would also refuse the file as a duplicate once the right
    journal is back."""
    bank, other = strange_journal
    a = bank.files[0]
    path = _answer(bank.ch.exchange.inbox / "A.xml", a)
    [summary] = other.poll("bank").reports
    assert summary.error and "journal" in summary.error and a.msg_id in summary.error
    assert summary.unmatched == 0 and other.journal.count_by_status() == {}
    assert (bank.ch.exchange.quarantine / path.name).exists()
    assert (
        Ledger(other.channel_context("bank")).result(
            file_sha256(bank.ch.exchange.quarantine / path.name)
        )
        is None
    )
    # the right journal still takes it
    (bank.ch.exchange.quarantine / path.name).rename(path)
    [summary] = bank.col.poll("bank").reports
    assert summary.error is None and summary.moved == {"SUCCEEDED": 300}


class StrangeRows(Report):
    """A report of ``n`` rows for payments no journal holds, refusing itself when told."""

    source = "strange rows"

    def __init__(self, n: int) -> None:
        self.n = n
        self.read = 0
        self.told: list[int] = []

    def rows(self) -> Iterator[ResultRow]:
        for i in range(self.n):
            self.read += 1
            yield ResultRow(f"pay_{i:026d}", Status.SUCCEEDED, amount_minor=100, currency="CNY")

    def unknown_payments(self, count: int, sample: list[ResultRow]) -> None:
        self.told.append(count)
        first = sample[0].payment_id
        raise UnknownBatch("strange rows", f"{count} rows for unknown payments ({first})")


def test_rows_for_unknown_payments_are_refused_after_a_sample_not_after_the_whole_file(
    journal_url: str,
) -> None:
    """The first staged batch is checked at once: 20,000 rows are not all read (let alone
    applied one by one) to find out the file is not about this journal."""
    with Collector.open(journal_url, clock=clock(), create=True) as col:
        col.add_channel("bank", MemoryChannel())
        report = StrangeRows(20_000)
        summary = col.apply_report("bank", report)
    assert summary.error and "unknown payments" in summary.error
    assert report.told == [5_000] and report.read <= 5_001


def test_an_index_of_more_debits_than_one_sorted_run_finds_each_in_its_batch() -> None:
    """Past 65,536 debits the digests are sorted in runs and merged (no list of them all)."""
    refs = [(i % 3, f"01JD3M8Q2W5X7Y9Z0A{i:08d}-1") for i in range(140_000)]
    members = Members(["B1", "B2", "B3"], iter(refs))
    assert len(members) == 140_000
    assert all(members.batch_of(ref) == f"B{i + 1}" for i, ref in refs[::97])
    assert members.batch_of("01JD3M8Q2W5X7Y9Z0A99999999-1") is None
    seen = RefSet()
    for _i, ref in refs:
        seen.add(ref)
    assert refs[-1][1] in seen and "not-a-ref" not in seen


def test_the_refusal_names_the_file_and_the_first_unknown_debit_where_it_stands(
    strange_journal: tuple[Bank, Collector],
) -> None:
    """An operator opens the file at the right place: its name, the line of the first row
    for a payment this journal does not hold, and that row's end-to-end id."""
    bank, other = strange_journal
    a = bank.files[0]
    path = _answer(bank.ch.exchange.inbox / "A.xml", a)
    lines = path.read_text(encoding="utf-8").splitlines()
    at = next(i for i, text in enumerate(lines) if a.e2e[0] in text)
    start = next(i for i in range(at, -1, -1) if "<TxInfAndSts>" in lines[i]) + 1
    [summary] = other.poll("bank").reports
    assert summary.error is not None
    assert summary.error.startswith(f"A.xml line {start} (end-to-end id {a.e2e[0]}): ")
