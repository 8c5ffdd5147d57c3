"""Feeds made by real processes: racing runs never feed a payment twice; a run killed
between recording a feed and finishing its file is completed, identically, by the next."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from paychannels.journal import open_journal
from tests.crashkit import ROOT, run_child
from tests.feeds.county import SHANGHAI, at, fill

CHILD = Path(__file__).with_name("feed_child.py")


def _days() -> tuple[date, date]:
    today = datetime.now(UTC).astimezone(SHANGHAI).date()
    return today - timedelta(days=3), today - timedelta(days=2)


def _feed_argv(url: str, out: Path, kind: str, day: date, *more: str) -> list[str]:
    return ["feed", "--db", url, "--type", kind, "--day", day.isoformat(), "--out", str(out), *more]


def _lines(folder: Path) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    for path in sorted(folder.glob("*.csv")):
        rows = csv.DictReader(io.StringIO(path.read_text("utf-8")))
        found += [r for r in rows if r["kind"] not in ("total", "sha256")]
    return found


@pytest.mark.slow
def test_racing_feed_processes_never_feed_a_payment_twice(journal_url: str, tmp_path: Path) -> None:
    day1, day2 = _days()
    journal = open_journal(journal_url, create=True)
    try:
        fill(journal, range(0, 1500), paid_at=at(day1, 10))
        fill(journal, range(1500, 2000), paid_at=at(day1, 11), medical=True)
        fill(journal, range(2000, 2500), paid_at=at(day2, 10))
    finally:
        journal.close()
    out = tmp_path / "feeds"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = [
        ("pension", day1),
        ("pension", day1),
        ("pension", day2),
        ("medical", day1),
        ("medical", day1),
    ]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "paychannels.cli.main", *_feed_argv(journal_url, out, k, d)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k, d in runs
    ]
    results = []
    for proc in procs:
        _out, stderr = proc.communicate(timeout=120)
        results.append((proc.returncode, stderr))
    # 0 written; 1 fed before by the other run; 2 only for day 1 after day 2 was recorded
    assert all(code in (0, 1, 2) for code, _ in results), results
    assert all("out of order" in err or "come after" in err for code, err in results if code == 2)
    lines = _lines(out)
    paid = [r["payment"] for r in lines if r["kind"] == "paid"]
    assert len(paid) == len(set(paid)) == 2500  # every payment, once
    assert sorted(paid) == [f"pay_{n:07d}" for n in range(2500)]
    assert not list(out.glob(".*.tmp"))


@pytest.mark.slow
@pytest.mark.parametrize("point", ["feed.recorded", "feed.written"])
def test_a_feed_killed_before_its_file_is_finished_is_completed_identically(
    journal_url: str, tmp_path: Path, point: str
) -> None:
    day1, _ = _days()
    journal = open_journal(journal_url, create=True)
    out = tmp_path / "feeds"
    try:
        fill(journal, range(0, 40), paid_at=at(day1, 10))
        argv = _feed_argv(journal_url, out, "pension", day1)
        assert run_child(CHILD, argv, crash_at=point) < 0  # killed there, like a power cut
        (header,) = journal.feeds()
        assert header.lines == 40 and header.checksum is None
        left = out / f"pension-{day1.isoformat()}.csv"
        assert left.exists() == (point == "feed.written")
        before = left.read_bytes() if left.exists() else None
        fill(journal, range(40, 45), paid_at=at(day1, 12))  # recorded after the crash
        assert run_child(CHILD, argv) == 0
        (done,) = journal.feeds()
        assert done.checksum is not None and done.lines == 40
        assert len(_lines(out)) == 40  # the recorded lines, not a fresh selection
        if before is not None:
            assert left.read_bytes() == before
        assert not list(out.glob(".*.tmp"))
        assert run_child(CHILD, [*argv, "--again"]) == 0
    finally:
        journal.close()
