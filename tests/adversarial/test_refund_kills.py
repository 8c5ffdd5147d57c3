"""Refunds through ``memory://`` under SIGKILL: never given back twice, never lost.

The device (a ``FileLedger``) and the journal are compared after every trial: each payment
charged once, the money the device gave back for it equal to its SUCCEEDED refunds in the
journal, every refund the device made known to the journal and vice versa. Kills land right
after each device write in turn, and at random moments over many refunds; SQLite and
PostgreSQL journals.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from paychannels import open_journal
from paychannels.channels.ledger import FileLedger
from paychannels.values.status import Status
from tests.conftest import pg_schema
from tests.crashkit import ROOT

CHILD = Path(__file__).with_name("refund_child.py")
FIGURES: dict[str, int] = {"trials": 0, "kills": 0, "payments": 0, "refunds": 0}


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYCHANNELS_TEST_")}
    env = {k: v for k, v in env.items() if not k.startswith("PAYCHANNELS_CRASH")}
    env["PYTHONPATH"] = str(ROOT)
    return {**env, **extra}


def run(db: str, ledger: Path, phase: str, count: int, **env: str) -> int:
    proc = subprocess.run(
        [sys.executable, str(CHILD), db, str(ledger), phase, str(count)],
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if proc.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(f"child failed ({proc.returncode}):\n{proc.stderr}")
    return proc.returncode


def check_truth(db: str, ledger: Path, count: int) -> None:
    """The journal against the device's own ledger: nothing lost, nothing given back twice."""
    journal = open_journal(db)
    device = FileLedger(ledger)
    try:
        records = journal.find(limit=10_000)
        payments = {r.id: r for r in records if r.kind == "payment"}
        refunds = [r for r in records if r.kind == "refund"]
        assert len(payments) == count, "a payment was lost or duplicated"
        for record in records:
            assert record.status in (Status.SUCCEEDED,), f"{record.id}: {record.status}"
            assert journal.verify(record.id) == []
        for pid, payment in payments.items():
            entry = device.get(pid)
            assert entry is not None and entry.charges == 1, f"{pid} charged {entry}"
            back = sum(r.amount.minor for r in refunds if r.parent_id == pid)
            assert entry.refunded_minor == back, (
                f"{payment.idempotency_key}: the device gave back {entry.refunded_minor}, "
                f"the journal knows of {back}"
            )
        known = {r.id for r in refunds}
        made = {e.key for e in device.entries() if e.key.startswith("rfd_")}
        assert made == known, (
            f"refunds on the device only {made - known}, journal only {known - made}"
        )
        FIGURES["payments"] += len(payments)
        FIGURES["refunds"] += len(refunds)
    finally:
        journal.close()


def writes_of_a_run(tmp: Path, db: str, count: int) -> int:
    tally = tmp / "writes.txt"
    assert run(db, tmp / "ledger.db", "work", count, PAYCHANNELS_TEST_COUNT_WRITES=str(tally)) == 0
    check_truth(db, tmp / "ledger.db", count)
    return len(tally.read_text().split())


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_kill_right_after_each_device_write(tmp_path: Path, backend: str) -> None:
    count = 2  # 2 payments, 3 refunds: every write of a payment and of both refund shapes
    with _journal(tmp_path / "trace", backend) as db:
        writes = writes_of_a_run(tmp_path / "trace", db, count)
    assert writes >= count + 3, f"only {writes} device writes for 2 payments and 3 refunds"
    for n in range(1, writes + 1):
        trial = tmp_path / f"kill{n}"
        with _journal(trial, backend) as db:
            code = run(
                db, trial / "ledger.db", "work", count, PAYCHANNELS_TEST_KILL_AFTER_WRITE=str(n)
            )
            assert code == -signal.SIGKILL, f"write {n} was not reached"
            assert run(db, trial / "ledger.db", "restart", count) == 0
            check_truth(db, trial / "ledger.db", count)
        FIGURES["trials"] += 1
        FIGURES["kills"] += 1
    print(f"\nrefund kills ({backend}): {FIGURES}")


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_kill_at_random_moments_over_many_refunds(tmp_path: Path, backend: str) -> None:
    count, trials = 12, 8
    rng = random.Random(f"refunds-{backend}")
    with _journal(tmp_path / "timing", backend) as db:
        span = _kill_after(db, tmp_path / "timing", count, None)
    kills = 0
    for t in range(trials):
        trial = tmp_path / f"trial{t}"
        with _journal(trial, backend) as db:
            kills += _kill_after(db, trial, count, rng.uniform(0.0, 1.0) * span) is None
            assert run(db, trial / "ledger.db", "restart", count) == 0
            check_truth(db, trial / "ledger.db", count)
        FIGURES["trials"] += 1
    FIGURES["kills"] += kills
    assert kills >= trials // 2, f"only {kills} of {trials} trials were killed mid-run"
    print(f"\nrefund random kills ({backend}): {kills} kills, {FIGURES}")


def _kill_after(db: str, folder: Path, count: int, delay: float | None) -> float | None:
    """Run a child; SIGKILL it ``delay`` seconds into its work (None: let it finish and
    return how long its work took). None when it was killed."""
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), db, str(folder / "ledger.db"), "work", str(count)],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    ready = proc.stdout.readline()  # bounded: the child prints it or exits
    started = time.monotonic()
    killed = False
    if delay is not None and ready:
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed = True
    _, err = proc.communicate(timeout=60)
    assert proc.returncode in (0, -signal.SIGKILL), err.decode()
    return None if killed else time.monotonic() - started


class _journal:  # noqa: N801 - used as a context manager, like a function
    """A fresh journal URL (and folder) for one trial."""

    def __init__(self, folder: Path, backend: str) -> None:
        self.folder, self.backend = folder, backend
        self._pg = pg_schema() if backend == "postgres" else None

    def __enter__(self) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self._pg is None:
            return f"sqlite:///{self.folder}/journal.db"
        return self._pg.__enter__()

    def __exit__(self, *exc: object) -> None:
        if self._pg is not None:
            self._pg.__exit__(None, None, None)
