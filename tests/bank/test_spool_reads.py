"""The spool is read once per flush, and a sent file's archive once per result file, however
many request files or batches it is cut into: bytes read (``/proc/self/io`` ``rchar``) for
a spool cut into 15 files, or a file of 30 batches, stay near those of one file of one
batch. (Both were read again from the start for every file and every batch: quadratic.)"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from paychannels import Collector, Status
from paychannels.bankfiles.split import Limits
from paychannels.channels.bank import BankBatchChannel
from paychannels.channels.bank.formats import open_format
from paychannels.simulators.bank import BankSimulator, Mix
from tests.bank.conftest import CREDITOR, bank_request, clock
from tests.procio import io_count

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/io")

DEBITS = 900


@contextmanager
def _counting(into: list[int]) -> Iterator[None]:
    before = io_count("rchar")
    yield
    into.append(io_count("rchar") - before)


def _cycle(root: Path, limits: Limits) -> tuple[int, int, int]:
    """Spool DEBITS debits, flush them, let the bank answer, apply the answers: the bytes
    read by the flush and by the ingest, and the spool's size."""
    root.mkdir()
    clk = clock()
    ch = BankBatchChannel(
        root / "x", format=open_format("pain.008.001.08"), creditor=CREDITOR, limits=limits
    )
    col = Collector.open(f"sqlite:///{root}/j.db", clock=clk, create=True)
    sim = BankSimulator(
        ch.exchange.outbox,
        ch.exchange.inbox,
        state=root / "sim",
        mix=Mix(),
        reply="pain.002.001.10",
        clock=lambda: clk.now().timestamp(),
    )
    try:
        col.add_channel("bank", ch)
        col.collect_many([bank_request(i) for i in range(DEBITS)], channel="bank")
        [spool] = ch.exchange.spool.glob("*.jsonl")
        size = spool.stat().st_size
        flushed: list[int] = []
        with _counting(flushed):
            files = ch.flush(col.channel_context("bank"))
        assert sum(f.count for f in files) == DEBITS
        sim.process_once()
        ingested: list[int] = []
        answers = sorted(ch.exchange.inbox.iterdir())
        with _counting(ingested):
            for path in answers:
                report = ch.report_for(path, col.channel_context("bank"), move=False)
                assert report is not None
                summary = col.apply_report("bank", report)
                assert summary.error is None, summary.error
        assert col.journal.count_by_status() == {Status.SUCCEEDED: DEBITS}
        return flushed[0], ingested[0], size
    finally:
        sim.close()
        col.close()


def test_the_spool_is_read_once_however_many_files(tmp_path: Path) -> None:
    one_flush, _, size = _cycle(tmp_path / "one", Limits())
    many_flush, _, _ = _cycle(tmp_path / "many", Limits(rows_per_file=DEBITS // 15))
    # 15 files: a re-read of the spool per file costs ~15 spools more
    assert many_flush < one_flush + 3 * size, (many_flush, one_flush, size)


def test_an_archive_is_read_once_however_many_batches(tmp_path: Path) -> None:
    _, one_ingest, size = _cycle(tmp_path / "one", Limits())
    _, many_ingest, _ = _cycle(tmp_path / "many", Limits(rows_per_batch=DEBITS // 30))
    # one result file for a file of 30 batches: a re-read per batch costs ~30 spools more.
    # The journal's own page reads move by ~3 spools between runs (seen once in three: 3.1);
    # 10 leaves room for them and still fails a re-read per batch by a factor of three.
    assert many_ingest < one_ingest + 10 * size, (many_ingest, one_ingest, size)
