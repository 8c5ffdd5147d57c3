"""A result file's stage holds every row of the file: on SQLite it must not live in memory.

The SQLite journal keeps its TEMP tables in memory (``temp_store=MEMORY``: the build's
stages are 5,000 rows at most). The stage of ``apply_results`` is the whole file (all rows
are staged before any is applied), so in memory it grows with the file: 300,000 rows doubled
the ingest's peak (63 -> 125 MB) and 3,000,000 would need ~700 MB. SQLite's own allocator
counts what it holds (``sqlite3_memory_highwater``), so the test reads that, not the RSS.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from datetime import UTC, datetime

import pytest

from paychannels import Collector, Status
from paychannels.values.results import ResultRow

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def _sqlite_lib() -> ctypes.CDLL:
    name = ctypes.util.find_library("sqlite3")
    if name is None:
        pytest.skip("no shared libsqlite3 to read SQLite's memory statistics from")
    lib = ctypes.CDLL(name)
    lib.sqlite3_memory_highwater.restype = ctypes.c_int64
    lib.sqlite3_memory_highwater.argtypes = [ctypes.c_int]
    return lib


def _rows(n: int) -> list[ResultRow]:
    """Rows naming payments the journal does not hold: staged and classified, never moved."""
    return [
        ResultRow(f"pay_{i:026d}", Status.SUCCEEDED, reason_detail="ACSC", attempt=1, line=i + 7)
        for i in range(n)
    ]


def _staged_peak(col: Collector, lib: ctypes.CDLL, n: int) -> int:
    """How far SQLite's allocations rose above where they stood while ``n`` rows were
    staged and applied."""
    rows = _rows(n)
    lib.sqlite3_memory_highwater(1)  # reset the high-water mark to what is in use now
    base = lib.sqlite3_memory_highwater(0)
    unmatched = sum(
        done.unmatched
        for done in col.journal.apply_results(
            iter(rows), channel="bank", via="result file R.xml", now=T0
        )
    )
    assert unmatched == n
    return lib.sqlite3_memory_highwater(0) - base


def test_the_stage_of_a_whole_result_file_is_not_held_in_memory_on_sqlite(
    sqlite_url: str,
) -> None:
    lib = _sqlite_lib()
    with Collector.open(sqlite_url, create=True) as col:
        small = _staged_peak(col, lib, 5_000)
        large = _staged_peak(col, lib, 80_000)
    # 75,000 more staged rows are ~12 MB of pages; a stage on disk holds at most its page
    # cache (2 MB by default), however many rows the file has
    assert large - small < 4 * 2**20, f"{small=:,} B, {large=:,} B"
