"""``batch build`` reads a roster of any length in flat memory: a payer and period that come
twice are found in the sorted scratch on disk, not in a set of every payer (issue 16 item 1:
36 MB of 116 MB at 300,000 was that set, ten times that for a province's file)."""

from __future__ import annotations

import contextlib
import io
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

import pytest

from paychannels.cli.main import main
from paychannels.demo.roster_gen import write_bank_roster
from paychannels.values.idnumbers import with_check_digit
from tests.bank.cycle import TOWNS, write_creditor


def write_roster(path: Path, n: int) -> None:
    """``n`` bank payers, every ID number its own (a thousand born on each day)."""
    born = date(1950, 1, 1)
    ids = (
        with_check_digit(f"150422{born + timedelta(days=i // 1000):%Y%m%d}{i % 1000:03d}")
        for i in range(n)
    )
    write_bank_roster(path, ids, names=["张三", "巴特尔"], towns=TOWNS, encoding="gb18030")


def _refused_peak(folder: Path, payers: int) -> tuple[int, str]:
    """Python's peak while ``batch build`` reads a roster whose last line repeats its first
    (so it reads the whole file, refuses, and journals nothing); the message."""
    folder.mkdir()
    roster = folder / "roster.csv"
    write_roster(roster, payers)
    lines = roster.read_bytes().splitlines(keepends=True)
    roster.write_bytes(b"".join([*lines, lines[1]]))  # line 2 again, as the last line
    argv = ["batch", "build", "--create", "--format", "pain.008.001.08"]
    argv += ["--db", f"sqlite:///{folder}/journal.db", "--roster", str(roster)]
    argv += ["--creditor", str(write_creditor(folder)), "--out", str(folder / "exchange")]
    err = io.StringIO()
    tracemalloc.start()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            code = main(argv)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code != 0
    return peak, err.getvalue()


@pytest.mark.slow
def test_reading_a_roster_ten_times_longer_holds_no_more(tmp_path: Path) -> None:
    _refused_peak(tmp_path / "warm", 100)  # the modules a build imports, loaded once
    small, said = _refused_peak(tmp_path / "small", 8_000)
    big, said_big = _refused_peak(tmp_path / "big", 80_000)
    assert "line 8002" in said and "same payer and period as line 2" in said
    assert "line 80002" in said_big and "same payer and period as line 2" in said_big
    grown = (big - small) / 2**20
    # old code: a dict of every payer id (about 120 B each) grew it by 8.6 MB; now 0.8
    assert grown < 2.5, f"reading 72,000 more lines held {grown:.1f} MB more"
