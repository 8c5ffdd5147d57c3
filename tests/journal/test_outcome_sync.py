"""The outcome-sync rule (docs/state-machine.md, "Durability") on real files and a real server.

SQLite: a child process pays under strace, which records every write to and every flush of
the journal's files. The test counts the flushes each payment costs, then rebuilds what a
power loss at the child's kill would have left — the database file and the write-ahead log
cut at the bytes written before its last flush — opens that, and lets recovery ask the
device. PostgreSQL (a shared server we may not crash): a trigger records each event's
``synchronous_commit``, and a SIGKILL after a lazy commit must lose nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from paychannels import Collector, Status, open_journal
from paychannels.channels.ledger import FileLedger
from paychannels.channels.memory import Behaviour, MemoryChannel
from paychannels.values.models import Outcome
from tests import crashkit
from tests.journal.crash_child import requests as memory_requests
from tests.zvt.test_crash import CHILD as ZVT_CHILD
from tests.zvt.test_crash import simulator

HERE = Path(__file__).parent
REFUND_CHILD = HERE / "refund_child.py"
MEMORY_CHILD = HERE / "crash_child.py"
STRACE = shutil.which("strace")
SYNCS = {"fsync", "fdatasync"}
_CALL = re.compile(r"^\d+\s+(pwrite64|write|fsync|fdatasync|sendto)\(\d+<([^>]*)>(.*)$")
_WHERE = re.compile(r"(\d+), (\d+)(?:\) += -?\d+| <unfinished)")

needs_strace = pytest.mark.skipif(STRACE is None, reason="strace is not installed")


@dataclass(frozen=True)
class Call:
    """One traced system call on a file: a write (where, how long) or a flush; or a send
    on a socket (to the terminal)."""

    name: str
    path: str
    offset: int = 0
    length: int = 0


@dataclass
class Traced:
    """A traced child's file calls, and where each crash point was reached among them."""

    calls: list[Call]
    points: dict[str, int]  # "collect.before_intent@2" -> index into calls

    def flushes(self, start: str, end: str, prefix: Path) -> int:
        """Flushes of the journal's files (``prefix``*) between two crash points."""
        between = self.calls[self.points[start] : self.points[end]]
        return sum(1 for c in between if c.name in SYNCS and c.path.startswith(str(prefix)))


def run_traced(child: Path, args: list[str], *, crash_at: str, tmp: Path) -> Traced:
    """Run ``child`` under strace, killed at ``crash_at``; its file calls and crash points."""
    assert STRACE is not None
    trace, log = tmp / "points.txt", tmp / "strace.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYCHANNELS_CRASH")}
    env.update(
        PYTHONPATH=str(crashkit.ROOT),
        PAYCHANNELS_CRASH_AT=crash_at,
        PAYCHANNELS_CRASH_TRACE=str(trace),
    )
    cmd = [STRACE, "-f", "-qq", "-s", "0", "-y", "-o", str(log)]
    cmd += ["-e", "trace=pwrite64,write,fsync,fdatasync,sendto", sys.executable, str(child)]
    cmd += args
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == -signal.SIGKILL, f"not killed at {crash_at}:\n{proc.stderr}"
    calls: list[Call] = []
    marks: list[int] = []
    for line in log.read_text().splitlines():
        m = _CALL.match(line)
        if m is None:
            continue
        name, path, rest = m.groups()
        if name == "write":
            if path == str(trace):
                marks.append(len(calls))
            continue
        if name == "pwrite64":
            where = _WHERE.search(rest)
            assert where is not None, line
            calls.append(Call(name, path, int(where.group(2)), int(where.group(1))))
        else:
            calls.append(Call(name, path))
    steps = crashkit.numbered_steps(trace)
    assert len(steps) == len(marks), "a crash point's write was not traced"
    return Traced(calls, dict(zip(steps, marks, strict=True)))


def power_loss_copy(traced: Traced, db: Path, out: Path) -> Path:
    """``db`` as a power loss at the kill leaves it: the file, and its write-ahead log cut
    at the bytes written before the log's last flush (a copy in ``out``)."""
    wal = f"{db}-wal"
    flushes = [i for i, c in enumerate(traced.calls) if c.name in SYNCS and c.path == wal]
    last = flushes[-1]
    durable = max(
        c.offset + c.length for c in traced.calls[:last] if c.name == "pwrite64" and c.path == wal
    )
    for c in traced.calls[last:]:
        if c.name == "pwrite64" and c.path.startswith(str(db)) and not c.path.endswith("-shm"):
            # an append to the log: a checkpoint or a restarted log would need another model
            assert c.path == wal and c.offset >= durable, f"unexpected write after the flush: {c}"
    out.mkdir()
    copy = out / db.name
    shutil.copyfile(db, copy)
    Path(f"{copy}-wal").write_bytes(Path(wal).read_bytes()[:durable])
    return copy


def statuses(url: str) -> dict[str, Status]:
    journal = open_journal(url)
    try:
        return {r.idempotency_key: r.status for r in journal.find(limit=100)}
    finally:
        journal.close()


# -- SQLite: flushes counted, a power loss rebuilt --------------------------------------------


@needs_strace
@pytest.mark.parametrize("mode", ["lazy", "full"])
def test_zvt_payments_flush_once_and_a_power_loss_is_resolved_by_the_terminal(
    mode: str, tmp_path: Path
) -> None:
    sim = simulator()
    db = (tmp_path / "j.db").resolve()
    option = "" if mode == "lazy" else "?outcome_sync=full"  # lazy is the default
    url = f"sqlite:///{db}{option}"
    try:
        port = str(sim.tcp.port)  # type: ignore[union-attr]
        traced = run_traced(
            ZVT_CHILD, [url, port, "work"], crash_at="collect.after_journal@3", tmp=tmp_path
        )
        # (0) the intent's flush of the log comes before the first byte the terminal gets of
        # its payment (the journal flushes it itself, its connections run synchronous=NORMAL)
        for k in (2, 3):
            start = traced.points[f"collect.before_intent@{k}"]
            sent = next(i for i, c in enumerate(traced.calls) if i > start and c.name == "sendto")
            flushed = [c for c in traced.calls[start:sent] if c.name in SYNCS]
            assert [c.path for c in flushed] == [f"{db}-wal"], traced.calls[start:sent]
        # (1) flushes per collect(): the intent only, or the intent and the answer
        per_payment = [
            traced.flushes(f"collect.before_intent@{k}", f"collect.after_journal@{k}", db)
            for k in (2, 3)
        ]
        assert per_payment == ([1, 1] if mode == "lazy" else [2, 2])
        # (the copy first: opening the journal would checkpoint its log into the file)
        copy = power_loss_copy(traced, db, tmp_path / "after-power-loss")
        # (3) a SIGKILL right after the lazy answer's commit loses nothing: the OS has the log
        assert statuses(url) == {
            "crash-1": Status.SUCCEEDED,
            "crash-2": Status.SUCCEEDED,
            "crash-3": Status.DECLINED,
        }
        # (2) a power loss there: the last answer was never flushed (lazy), the one before
        # was, by the next payment's intent (4)
        copy_url = f"sqlite:///{copy}{option}"
        left = statuses(copy_url)
        assert left["crash-2"] is Status.SUCCEEDED
        assert left["crash-3"] is (Status.DISPATCHED if mode == "lazy" else Status.DECLINED)
        # restarted: the backend retries its keys and recovers, asking the terminal
        assert crashkit.run_child(ZVT_CHILD, [copy_url, port, "restart"]) == 0
        crashkit.check_terminal_truth(copy_url, sim)  # none lost, none charged twice
    finally:
        sim.close()


@needs_strace
def test_a_refunds_intent_flushes_the_payments_answer(tmp_path: Path) -> None:
    db = (tmp_path / "j.db").resolve()
    ledger = tmp_path / "ledger.db"
    url = f"sqlite:///{db}"
    args = [url, str(ledger), "work"]
    traced = run_traced(REFUND_CHILD, args, crash_at="collect.after_journal@2", tmp=tmp_path)
    # the payment's answer and the refund's: one flush each, the refund's intent
    assert traced.flushes("collect.after_dispatch_mark@1", "collect.after_journal@2", db) == 1
    copy = power_loss_copy(traced, db, tmp_path / "after-power-loss")
    journal = open_journal(f"sqlite:///{copy}")
    try:
        (payment,) = journal.find(kind="payment", limit=10)
        (refund,) = journal.find(kind="refund", limit=10)
        assert payment.status is Status.SUCCEEDED  # flushed by the refund's intent
        assert refund.status is Status.DISPATCHED  # its own answer was not flushed yet
        refund_id = refund.id
    finally:
        journal.close()
    assert crashkit.run_child(REFUND_CHILD, [f"sqlite:///{copy}", str(ledger), "restart"]) == 0
    journal = open_journal(f"sqlite:///{copy}")
    try:
        assert journal.get(refund_id).status is Status.SUCCEEDED  # asked the device
    finally:
        journal.close()
    device = FileLedger(ledger)
    entry = device.get(payment.id)
    assert entry is not None and entry.charges == 1 and entry.refunded_minor == 3000
    assert sum(1 for e in device.entries() if e.key == refund_id) == 1  # given back once


def test_an_idle_journal_flushes_a_lazy_answer_within_its_bound(tmp_path: Path) -> None:
    col = Collector.open(f"sqlite:///{tmp_path}/j.db", create=True)
    try:
        col.add_channel("hall-1", MemoryChannel())
        sync = col.journal.outcome_sync  # type: ignore[attr-defined]
        col.collect(memory_requests()[0], channel="hall-1")
        assert sync.lazy_commits == 1 and sync.flushes == 0
        for _ in range(100):  # bounded: 5 s for a bound of max_age (1 s)
            if sync.flushes:
                break
            time.sleep(0.05)
        assert sync.flushes == 1
    finally:
        col.close()


def test_outcome_sync_is_checked_on_the_url(tmp_path: Path) -> None:
    from paychannels.values.errors import InvalidURL

    with pytest.raises(InvalidURL, match="outcome_sync must be one of"):
        open_journal(f"sqlite:///{tmp_path}/j.db?outcome_sync=sometimes", create=True)


# -- PostgreSQL: the commit mode each event was written with ----------------------------------

_SEEN = """
CREATE TABLE sync_seen (n SERIAL, to_status TEXT, mode TEXT);
CREATE FUNCTION sync_seen_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO sync_seen (to_status, mode)
    VALUES (NEW.to_status, current_setting('synchronous_commit'));
  RETURN NEW;
END $$;
CREATE TRIGGER sync_seen AFTER INSERT ON pc_events FOR EACH ROW EXECUTE FUNCTION sync_seen_row();
"""


@pytest.mark.parametrize("mode", ["lazy", "full"])
def test_postgres_commits_only_a_synchronous_answer_without_waiting(pg_url: str, mode: str) -> None:
    col = Collector.open(f"{pg_url}&outcome_sync={mode}", create=True)
    try:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(_SEEN.encode())
        channel = MemoryChannel()
        channel.rules.append(
            lambda r: Behaviour.LOSE_REPLY if r.idempotency_key == "crash-2" else None
        )
        col.add_channel("hall-1", channel)
        first, second = memory_requests()[:2]
        paid = col.collect(first, channel="hall-1")
        lost = col.collect(second, channel="hall-1")
        assert paid.status is Status.SUCCEEDED and lost.status is Status.UNKNOWN
        # a callback's report (the provider stops retrying once we answer): always flushed
        col.apply_outcome(lost.id, Outcome.succeeded(), via="callback")
        with psycopg.connect(pg_url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT to_status, mode FROM sync_seen WHERE to_status IS NOT NULL ORDER BY n"
            ).fetchall()
    finally:
        col.close()
    answer = "off" if mode == "lazy" else "on"
    assert rows == [
        ("CREATED", "on"),
        ("DISPATCHED", "on"),
        ("SUCCEEDED", answer),
        ("CREATED", "on"),
        ("DISPATCHED", "on"),
        ("UNKNOWN", answer),
        ("SUCCEEDED", "on"),
    ]


def test_postgres_sigkill_after_a_lazy_answer_loses_nothing(pg_url: str, tmp_path: Path) -> None:
    url = f"{pg_url}&outcome_sync=lazy"
    ledger = tmp_path / "ledger.db"
    args = [url, str(ledger), "work"]
    crash_at = "collect.after_journal@3"
    assert crashkit.run_child(MEMORY_CHILD, args, crash_at=crash_at) == -signal.SIGKILL
    assert statuses(url) == {
        "crash-1": Status.SUCCEEDED,
        "crash-2": Status.UNKNOWN,  # the device's reply was lost, as planned
        "crash-3": Status.DECLINED,
    }
