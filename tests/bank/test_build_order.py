"""``batch build`` writes about the same bytes whatever the roster's order: a roster by
village lists payers scattered, and journaled in that order every chunk's commit rewrote
nearly every page of the journal's payer indexes (49 KB written per debit at 300,000 against
10 KB for the same roster sorted; issue 16). The build journals in (payer, reference) order."""

from __future__ import annotations

import contextlib
import csv
import io
import sqlite3
import sys
from pathlib import Path

import pytest

from paychannels.cli.main import main
from tests.bank.test_full_cycle import write_roster
from tests.procio import io_count

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/io"),
]

PAYERS = 8000
CREDITOR = """[creditor]
name = "社保局"
account = "15050171001234567890"
bank = "105191000011"
msg_prefix = "KYQ"
"""


def _build(root: Path, roster: Path) -> int:
    """Bytes written to disk by one ``batch build --create`` of the roster."""
    root.mkdir()
    (root / "CREDITOR.toml").write_text(CREDITOR, encoding="utf-8")
    argv = ["batch", "build", "--format", "pain.008.001.08", "--json", "--create"]
    argv += ["--creditor", str(root / "CREDITOR.toml"), "--db", f"sqlite:///{root}/j.db"]
    argv += ["--roster", str(roster), "--out", str(root / "x")]
    before = io_count("write_bytes")
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(argv) == 0
    return io_count("write_bytes") - before


def test_a_scattered_roster_costs_no_more_writes_than_a_sorted_one(tmp_path: Path) -> None:
    scattered = tmp_path / "scattered.csv"
    write_roster(scattered, PAYERS)  # payer ids cycle by year, month and day: scattered
    with open(scattered, encoding="gb18030", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    assert rows != sorted(rows, key=lambda r: r[0])
    ordered = tmp_path / "sorted.csv"
    with open(ordered, "w", encoding="gb18030", newline="") as fh:
        csv.writer(fh).writerows([header, *sorted(rows, key=lambda r: r[0])])
    as_listed = _build(tmp_path / "scattered", scattered)
    by_payer = _build(tmp_path / "sorted", ordered)
    assert as_listed < 1.15 * by_payer, (as_listed, by_payer)


def test_the_whole_roster_is_journaled_in_index_order_not_chunk_by_chunk(tmp_path: Path) -> None:
    """Sorted within each chunk of 5,000 only, every chunk still spanned the whole payer
    indexes and its commit rewrote nearly all their pages: bytes grew with N² (12.9 GB for
    300,000). Across chunks, the intents go in (payer, reference) order."""
    roster = tmp_path / "scattered.csv"
    write_roster(roster, 5300)  # two chunks
    _build(tmp_path / "b", roster)
    conn = sqlite3.connect(tmp_path / "b" / "j.db")
    payers = [
        row[0]
        for row in conn.execute(
            "SELECT p.payer_id FROM pc_events e JOIN pc_payments p ON p.id = e.payment_id "
            "WHERE e.type = 'created' ORDER BY e.seq"
        )
    ]
    conn.close()
    assert len(payers) == 5300
    assert payers == sorted(payers)
