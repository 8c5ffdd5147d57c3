"""SIGKILL the collecting process at every step of the dispatch and recovery paths in turn.

For each step the flow passes (learned from a traced run), a child process is killed there;
a restarted process then recovers and retries. Afterwards every payment must be in its true
state with the simulated device's ledger: none lost, none taken twice, events consistent.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from paychannels import Status, open_journal
from paychannels.channels.ledger import FileLedger
from paychannels.runtime.crashpoints import POINTS
from tests import crashkit

CHILD = Path(__file__).with_name("crash_child.py")
EXPECTED = {
    "crash-1": (Status.SUCCEEDED, 1),
    "crash-2": (Status.SUCCEEDED, 1),
    "crash-3": (Status.DECLINED, 0),
}
KILLS: list[str] = []  # every (phase, point@n) exercised, for the report


def run_child(
    db: str, ledger: Path, phase: str, *, crash_at: str = "", trace: Path | None = None
) -> int:
    return crashkit.run_child(CHILD, [db, str(ledger), phase], crash_at=crash_at, trace=trace)


steps = crashkit.numbered_steps


def check_truth(db: str, ledger: Path) -> None:
    journal = open_journal(db)
    device = FileLedger(ledger)
    try:
        records = {r.idempotency_key: r for r in journal.find(limit=100)}
        assert set(records) == set(EXPECTED), "a payment was lost or duplicated"
        for key, (status, charges) in EXPECTED.items():
            record = records[key]
            entry = device.get(record.id)
            assert record.status is status, f"{key}: {record.status}, expected {status}"
            assert (entry.charges if entry else 0) == charges, f"{key} charged {entry}"
            assert journal.verify(record.id) == []
        # the device charged nothing the journal does not know about
        known = {r.id for r in records.values()}
        assert all(e.key in known or e.charges == 0 for e in device.entries())
    finally:
        journal.close()


def scenario(tmp: Path, pre: list[tuple[str, str]], phase: str) -> int:
    """Kill ``phase`` at each of its steps (after running ``pre``), restart, check."""
    base = tmp / "trace"
    base.mkdir()
    db0, led0, trace = f"sqlite:///{base}/j.db", base / "ledger.db", base / "trace.txt"
    for pre_phase, crash in pre:
        run_child(db0, led0, pre_phase, crash_at=crash)
    assert run_child(db0, led0, phase, trace=trace) == 0
    all_steps = steps(trace)
    for i, step in enumerate(all_steps):
        run = tmp / f"kill{i}"
        run.mkdir()
        db, led = f"sqlite:///{run}/j.db", run / "ledger.db"
        for pre_phase, crash in pre:
            run_child(db, led, pre_phase, crash_at=crash)
        code = run_child(db, led, phase, crash_at=step)
        assert code == -signal.SIGKILL, f"{step} was not reached"
        KILLS.append(f"{phase}:{step}")
        assert run_child(db, led, "restart") == 0
        check_truth(db, led)
    return len(all_steps)


@pytest.mark.slow
def test_kill_at_every_step_of_dispatch(tmp_path: Path) -> None:
    n = scenario(tmp_path, [], "work")
    reached = {k.split(":")[1].split("@")[0] for k in KILLS}
    assert {
        "collect.before_intent",
        "collect.after_dispatch_mark",
        "channel.before_send",
        "channel.after_send",
        "collect.after_outcome",
        "journal.before_commit",
        "collect.after_journal",
        "recover.after_inquiry",
    } <= reached
    print(f"\ncrash test: {n} kill points on the dispatch path")


@pytest.mark.slow
def test_kill_at_every_step_of_recovery(tmp_path: Path) -> None:
    # the first process dies after the device charged payment 1 but before the journal knew
    n = scenario(tmp_path, [("work", "channel.after_send@1")], "restart")
    assert any("recover.after_unknown_mark" in k for k in KILLS)
    print(f"\ncrash test: {n} kill points on the recovery path")


def test_every_declared_point_is_on_a_path() -> None:
    assert len(set(POINTS)) == len(POINTS)


def test_a_kill_before_the_sync_commits_nothing_on_postgres(pg_url: str, tmp_path: Path) -> None:
    """PostgreSQL commits a pipelined transaction at the pipeline's Sync (no COMMIT is sent):
    a process killed with its intent's row and events sent, the Sync not, leaves nothing; a
    restarted process then collects every payment to its true state."""
    ledger = tmp_path / "ledger.db"
    assert run_child(pg_url, ledger, "work", crash_at="journal.before_commit@1") == -signal.SIGKILL
    journal = open_journal(pg_url)
    try:
        assert journal.find(limit=10) == [], "a transaction killed before its Sync committed"
        assert journal.events() == []
    finally:
        journal.close()
    assert run_child(pg_url, ledger, "restart") == 0
    check_truth(pg_url, ledger)
