"""Totals per village are read a page at a time: a province has tens of thousands of
villages, each with its categories, and the 10,000,000 run's peak (204 MB against 124 MB
at 1,000,000) was every group fetched at once as rows, then copied to tuples."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from paychannels.journal.obligations import new_run
from tests.reconcile.day import Day

VILLAGES = 6000


@pytest.fixture
def day(tmp_path: Path, journal_url: str) -> Iterator[Day]:
    d = Day.open(tmp_path, journal_url)
    yield d
    d.journal.close()


def _staged(day: Day) -> str:
    """A run whose roster owes one obligation in each of ``VILLAGES`` villages."""
    run = new_run()
    rows = (
        (
            n,
            n + 1,
            f"P{n:08d}",
            "某",
            f"township {n % 100:02d}",
            f"village {n:05d}",
            "2026",
            f"R{n}",
            "A",
            30000,
            "CNY",
        )
        for n in range(VILLAGES)
    )
    day.journal.stage_obligations(run, rows)
    day.journal.settle_plain_obligations(run)
    return run


def test_village_totals_come_a_page_at_a_time(day: Day) -> None:
    run = _staged(day)
    try:
        tracemalloc.start()
        try:
            seen = 0
            for _a, village, category, n, owed, got in day.journal.obligation_totals(
                run, "village", page=200
            ):
                seen += n
                assert category == "unpaid" and owed == 30000 and got == 0 and village
            _now, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert seen == VILLAGES
        # a page of 200 groups is a few tens of KB; all 6,000 at once were about 2 MB
        assert peak < 400_000, f"peak {peak} B while reading {VILLAGES} village totals"
    finally:
        day.journal.drop_obligations(run)
