"""The janitor's round in one process, over real SQLite and PostgreSQL journals."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from paychannels import Collector, ManualClock, Status
from paychannels.operations.janitor import Janitor, RoundReport
from paychannels.operations.jobs import UnsupportedJob
from paychannels.operations.schedule import JanitorSchedule, JobKind, ScheduledJob
from tests.bank.conftest import bank_request
from tests.operations.support import bank_url, leave_in_doubt

#: 10:30 in Beijing on 7 December
NOW = datetime(2026, 12, 7, 2, 30, tzinfo=UTC)


def _collector(db: str, ledger: Path, exchange: Path, clock: ManualClock) -> Collector:
    col = Collector.open(db, clock=clock)
    col.add_channel("mem", f"memory://{ledger}")
    col.add_channel("bank", bank_url(exchange))
    return col


def test_a_round_resolves_the_unknown_payments_by_asking_the_device(
    journal_url: str, tmp_path: Path
) -> None:
    ids = leave_in_doubt(journal_url, tmp_path / "ledger.sqlite", 3)
    with _collector(
        journal_url, tmp_path / "ledger.sqlite", tmp_path / "x", ManualClock(NOW)
    ) as col:
        report = Janitor(col).round()
        assert report.resolved == {"SUCCEEDED": 3}
        assert (report.in_doubt, report.exit_code) == ([], 0)
        assert {col.status(i).status for i in ids} == {Status.SUCCEEDED}
        assert "janitor settled" in report.line() and "3 resolved (3 SUCCEEDED)" in report.line()


def test_a_payment_still_in_doubt_makes_the_round_exit_3(journal_url: str, tmp_path: Path) -> None:
    [pid] = leave_in_doubt(journal_url, tmp_path / "ledger.sqlite", 1)
    with Collector.open(journal_url, clock=ManualClock(NOW)) as col:
        col.add_channel("other", "memory://")  # not the payment's channel: it cannot be asked
        report = Janitor(col).round()
        assert col.status(pid).status is Status.UNKNOWN
    assert (report.exit_code, list(report.not_asked)) == (3, [pid])
    assert "NOT settled" in report.line() and "1 not asked" in report.line()


def test_expired_locks_are_removed_and_held_ones_kept(journal_url: str, tmp_path: Path) -> None:
    leave_in_doubt(journal_url, tmp_path / "ledger.sqlite", 0)
    with _collector(
        journal_url, tmp_path / "ledger.sqlite", tmp_path / "x", ManualClock(NOW)
    ) as col:
        j = col.journal
        an_hour_ago, gone = NOW - timedelta(hours=1), NOW - timedelta(seconds=1)
        assert j.acquire_lock("terminal:old", "h/1/a", until=gone, now=an_hour_ago)
        assert j.acquire_lock("terminal:new", "h/2/b", until=NOW + timedelta(minutes=5), now=NOW)
        # a process of this host that died holding a lock with a long lease
        gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
        dead = f"{socket.gethostname()}/{gone.stdout.strip()}/t0k3n"
        assert j.acquire_lock("terminal:dead", dead, until=NOW + timedelta(hours=1), now=NOW)
        report = Janitor(col).round()
        assert report.locks_expired == ["terminal:dead", "terminal:old"]
        assert set(j.locks()) == {"terminal:new"}
        assert j.locks()["terminal:new"].owner == "h/2/b"  # another host's lease is trusted
        assert "2 lock(s) expired" in report.line()


def test_a_scheduled_job_runs_once_a_day_across_janitors(journal_url: str, tmp_path: Path) -> None:
    leave_in_doubt(journal_url, tmp_path / "ledger.sqlite", 0)
    schedule = JanitorSchedule((ScheduledJob("bank", JobKind.BANK_RESULTS, time(10, 0)),))
    clock = ManualClock(NOW - timedelta(hours=1))  # 09:30 in the county: not yet due
    ledger, exchange = tmp_path / "ledger.sqlite", tmp_path / "x"
    with (
        _collector(journal_url, ledger, exchange, clock) as one,
        _collector(journal_url, ledger, exchange, clock) as two,
    ):
        first, second = Janitor(one, schedule), Janitor(two, schedule)
        assert first.round().jobs == []
        clock.advance(hours=1)
        assert [j.outcome for j in first.round().jobs] == ["done"]
        assert [(j.outcome, j.day) for j in second.round().jobs] == [
            ("already done", date(2026, 12, 7))
        ]
        assert [j.outcome for j in first.round().jobs] == ["already done"]
        clock.advance(hours=24)  # the county's next day: due again
        assert [(j.outcome, j.day) for j in second.round().jobs] == [("done", date(2026, 12, 8))]


def test_a_job_held_by_another_process_is_left_to_it(journal_url: str, tmp_path: Path) -> None:
    leave_in_doubt(journal_url, tmp_path / "ledger.sqlite", 0)
    schedule = JanitorSchedule((ScheduledJob("bank", JobKind.BANK_RESULTS, time(10, 0)),))
    col = _collector(journal_url, tmp_path / "ledger.sqlite", tmp_path / "x", ManualClock(NOW))
    with col:
        # another janitor (another host: its lease is trusted) is running the job right now
        assert col.journal.acquire_lock(
            "janitor:bank-results:bank", "elsewhere/1/x", until=NOW + timedelta(minutes=5), now=NOW
        )
        [job] = Janitor(col, schedule).round().jobs
        assert (job.outcome, job.detail) == ("busy", "running in another process")
        assert col.journal.state_get("janitor", "bank-results:bank:2026-12-07") is None


def test_unreadable_result_files_are_quarantined_one_by_one(
    journal_url: str, tmp_path: Path
) -> None:
    leave_in_doubt(journal_url, tmp_path / "ledger.sqlite", 0)
    exchange = tmp_path / "x"
    schedule = JanitorSchedule((ScheduledJob("bank", JobKind.BANK_RESULTS, time(0, 0)),))
    with _collector(journal_url, tmp_path / "ledger.sqlite", exchange, ManualClock(NOW)) as col:
        (exchange / "inbox").mkdir(parents=True)
        (exchange / "inbox" / "a.xml").write_text("<not a result file", encoding="utf-8")
        (exchange / "inbox" / "b.xml").write_bytes(b"\x00\xff garbage")
        report = Janitor(col, schedule).round()
    [job] = report.jobs
    assert (job.outcome, job.quarantined, report.exit_code) == ("done", 2, 3)
    assert sorted(
        p.name for p in (exchange / "quarantine").iterdir() if not p.name.endswith(".txt")
    ) == [
        "a.xml",
        "b.xml",
    ]
    reasons = sorted((exchange / "quarantine").glob("*.reason.txt"))
    assert len(reasons) == 2 and all(r.read_text(encoding="utf-8").strip() for r in reasons)
    assert list((exchange / "inbox").iterdir()) == []
    assert "2 quarantined" in report.line()


def test_a_schedule_naming_a_channel_without_that_verb_is_refused(
    sqlite_url: str, tmp_path: Path
) -> None:
    leave_in_doubt(sqlite_url, tmp_path / "ledger.sqlite", 0)
    with Collector.open(sqlite_url) as col:
        col.add_channel("mem", "memory://")
        with pytest.raises(UnsupportedJob, match="'mem' has no bill"):
            Janitor(col, JanitorSchedule((ScheduledJob("mem", JobKind.BILL, time(10, 0)),)))


def test_a_journal_locked_for_a_while_cuts_a_round_short_and_the_next_goes_on(
    tmp_path: Path,
) -> None:
    db = f"sqlite:///{tmp_path}/journal.db"
    ids = leave_in_doubt(db, tmp_path / "ledger.sqlite", 2)
    blocker = sqlite3.connect(tmp_path / "journal.db", isolation_level=None)
    with Collector.open(f"{db}?busy_timeout=0.2", clock=ManualClock(NOW)) as col:
        col.add_channel("mem", f"memory://{tmp_path / 'ledger.sqlite'}")
        janitor = Janitor(col)
        blocker.execute("BEGIN EXCLUSIVE")  # another writer holds the journal
        cut = janitor.round()
        blocker.execute("COMMIT")
        assert cut.error is not None and "stayed locked" in cut.error
        assert (cut.exit_code, cut.resolved) == (3, {})
        assert "round stopped short" in cut.line() and cut.as_dict()["error"] == cut.error
        reports: list[RoundReport] = []
        janitor.loop(0.01, lambda wait: False, each=reports.append, rounds=2)
        assert [r.error for r in reports] == [None, None]
        assert reports[0].resolved == {"SUCCEEDED": 2} and reports[1].exit_code == 0
        assert {col.status(i).status for i in ids} == {Status.SUCCEEDED}
    blocker.close()


def test_the_bank_job_reads_results_and_never_sends_the_spooled_debits(
    sqlite_url: str, tmp_path: Path
) -> None:
    leave_in_doubt(sqlite_url, tmp_path / "ledger.sqlite", 0)
    exchange = tmp_path / "x"
    schedule = JanitorSchedule((ScheduledJob("bank", JobKind.BANK_RESULTS, time(0, 0)),))
    clock = ManualClock(NOW)
    with _collector(sqlite_url, tmp_path / "ledger.sqlite", exchange, clock) as col:
        queued = col.collect_many([bank_request(i) for i in range(3)], "bank")
        assert {p.status for p in queued} == {Status.PENDING}  # spooled for the next file
        [job] = Janitor(col, schedule).round().jobs
        assert job.outcome == "done"
        assert sorted((exchange / "outbox").iterdir()) == []  # sending is not the janitor's
        assert {col.status(p.id).status for p in queued} == {Status.PENDING}
