"""Two processes on one PostgreSQL race to dispatch the same 500 payments: each is sent once.

"Exactly once" is checked on the simulated device (its ledger counts every charge, from both
processes) and in the journal (one DISPATCHED event per payment).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from paychannels import Collector, Status, open_journal
from paychannels.channels.ledger import FileLedger
from paychannels.channels.memory import MemoryChannel
from tests.journal.race_child import N, request

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("race_child.py")


def race(pg_url: str, tmp: Path, mode: str) -> None:
    ledger = tmp / "ledger.db"
    FileLedger(ledger)  # create the table before both racers open it
    barrier = tmp / "barrier"
    barrier.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, str(CHILD), pg_url, str(ledger), str(barrier), name, mode],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    device = FileLedger(ledger)
    journal = open_journal(pg_url)
    try:
        records = journal.find(limit=10 * N)
        assert len(records) == N
        assert all(r.status is Status.SUCCEEDED for r in records)
        charges = {e.key: e.charges for e in device.entries()}
        assert sorted(charges) == sorted(r.id for r in records)
        assert set(charges.values()) == {1}, "a payment was charged twice"
        dispatched = Counter(
            e.payment_id for e in journal.events(limit=100 * N) if e.to_status is Status.DISPATCHED
        )
        assert set(dispatched.values()) == {1}
        owners = Counter(
            e.data["owner"]
            for e in journal.events(limit=100 * N)
            if e.to_status is Status.DISPATCHED
        )
        print(f"\nrace ({mode}): dispatches per process {dict(owners)}")
    finally:
        journal.close()


@pytest.mark.slow
def test_two_processes_collect_same_requests(pg_url: str, tmp_path: Path) -> None:
    Collector.open(pg_url, create=True).close()  # migrate once, before the race
    race(pg_url, tmp_path, "collect")


@pytest.mark.slow
def test_two_processes_drain_deferred_payments(pg_url: str, tmp_path: Path) -> None:
    with Collector.open(pg_url, create=True) as col:
        col.add_channel("hall-1", MemoryChannel())
        for i in range(N):
            assert col.collect(request(i), channel="hall-1", defer=True).status is Status.CREATED
    race(pg_url, tmp_path, "dispatch")


def test_a_rival_committing_between_the_checks_gets_its_record_back(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes collect one request (same idempotency key); the rival commits while
    this one is between its checks. PostgreSQL reads each statement at its own snapshot, so
    the idempotency lookup must not come before the obligation check: the request gets the
    rival's record back, never "already has an attempt in doubt" about itself."""
    with Collector.open(pg_url, create=True) as mine, Collector.open(pg_url) as rival:
        for col in (mine, rival):
            col.add_channel("hall-1", MemoryChannel())
        journal = mine.journal
        checks = journal._checks  # obligations, then the key lookup: the rival comes after
        fired: list[str] = []

        def checks_then_rival(tx: object, news: object) -> object:
            found = checks(tx, news)  # type: ignore[arg-type]
            if not fired:
                fired.append(rival.collect(request(1), channel="hall-1", defer=True).id)
            return found

        monkeypatch.setattr(journal, "_checks", checks_then_rival)
        got = mine.collect(request(1), channel="hall-1", defer=True)
        assert fired and got.id == fired[0]
        assert len(mine.find(limit=10)) == 1
