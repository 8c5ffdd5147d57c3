"""A bulk create on SQLite writes what its journal files grow by and nothing more: its TEMP
stage and the sorts of its classification stay in memory. In a temp file (SQLite's default)
they were written out too, a third of a bank build's bytes (issue 16 item 1: 6.5 KB written
per debit for the intents against 2.9 KB, 30,000 debits)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from paychannels import Collector
from paychannels.journal import NewRecord
from tests.bank.conftest import bank_request, clock
from tests.procio import io_count

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/io")

N = 3000  # one chunk of the set path (the helper's payers are unique up to 3,000)


def _size(db: Path) -> int:
    return sum(p.stat().st_size for p in (db, Path(f"{db}-wal")) if p.exists())


def test_a_bulk_create_writes_its_pages_and_no_temp_file(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    with Collector.open(f"sqlite:///{db}", create=True, clock=clock()) as col:
        requests = [bank_request(i) for i in range(N)]
        news = [
            NewRecord(f"pay_T{i:025d}", "payment", "bank", r, r.fingerprint("bank"))
            for i, r in enumerate(requests)
        ]
        grown, before = _size(db), io_count("write_bytes")
        col.journal.create_many(news, now=col.clock.now())
        written, grown = io_count("write_bytes") - before, _size(db) - grown
    assert grown > 0
    # what the journal's files grew by (the WAL, the file) is what was written: 1.17x with
    # the stage in a temp file, 1.01x in memory
    assert written < 1.08 * grown, (written, grown)
