"""SIGKILL a bank build at every step of journaling and spooling a chunk (the intents
set-based, the spool, the chunk's PENDING set-based), restart, recover, retry, flush: every
debit is in the request file exactly once if its payment is PENDING (or UNKNOWN: spooled
before the kill, settled by the result file), and in none if it is NOT_SENT; nothing else
is in the file, and every record replays clean."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest

from paychannels import Collector, Status, open_journal
from paychannels.bankfiles.ids import end_to_end_id
from paychannels.channels.bank import BankBatchChannel
from paychannels.channels.bank.formats import open_format
from paychannels.simulators.bank import BankSimulator, Mix
from tests import crashkit
from tests.bank.build_crash_child import DEBITS
from tests.bank.conftest import CREDITOR

CHILD = Path(__file__).with_name("build_crash_child.py")
_E2E = re.compile(r"<EndToEndId>([^<]+)</EndToEndId>")


def _run(
    root: Path, phase: str, *, crash_at: str = "", trace: Path | None = None, db: str = ""
) -> int:
    args = [db or f"sqlite:///{root}/j.db", str(root / "x"), phase]
    return crashkit.run_child(CHILD, args, crash_at=crash_at, trace=trace)


def _check(root: Path) -> None:
    sent = [
        ref for path in (root / "x").rglob("*.xml") for ref in _E2E.findall(path.read_text("utf-8"))
    ]
    assert len(sent) == len(set(sent)), "a debit was written twice"
    journal = open_journal(f"sqlite:///{root}/j.db")
    try:
        records = journal.find(limit=1000)
        assert len(records) == DEBITS
        pending = set()
        for r in records:
            # interrupted after the spool: recovery asked the channel, which holds it (PENDING)
            assert r.status in (Status.PENDING, Status.NOT_SENT), r.status
            if r.status is not Status.NOT_SENT:
                pending.add(end_to_end_id(r.id, r.attempt))
            assert journal.verify(r.id) == []
        assert set(sent) == pending
    finally:
        journal.close()


@pytest.mark.slow
def test_kill_at_every_step_of_a_bank_chunk(tmp_path: Path) -> None:
    base = tmp_path / "trace"
    base.mkdir()
    assert _run(base, "work", trace=base / "trace.txt") == 0
    steps = crashkit.numbered_steps(base / "trace.txt")
    assert {"bank.after_spool@1", "collect.after_outcome@1", "journal.before_commit@2"} <= set(
        steps
    )
    for i, step in enumerate(steps):
        root = tmp_path / f"kill{i}"
        root.mkdir()
        assert _run(root, "work", crash_at=step) == -signal.SIGKILL, f"{step} not reached"
        assert _run(root, "restart") == 0
        _check(root)


def test_a_build_killed_after_its_spool_is_pending_after_recovery_and_settled_by_the_file(
    tmp_path: Path, journal_url: str
) -> None:
    """SIGKILL right after the chunk was spooled, before its PENDING was journaled: recovery
    marks the debits UNKNOWN, asks the bank channel, which finds them in its spool — PENDING,
    awaiting the result file, not in doubt; the result file then settles every one."""
    assert _run(tmp_path, "work", crash_at="bank.after_spool@1", db=journal_url) == -signal.SIGKILL
    with open_journal(journal_url) as journal:
        killed = journal.find(limit=1000)
        assert {r.status for r in killed} == {Status.DISPATCHED}
    assert _run(tmp_path, "restart", db=journal_url) == 0  # recover(), retry, flush
    ch = BankBatchChannel(tmp_path / "x", format=open_format("pain.008.001.08"), creditor=CREDITOR)
    with Collector.open(journal_url) as col:
        col.add_channel("bank", ch)
        records = col.journal.find(limit=1000)
        assert {r.status for r in records} == {Status.PENDING}
        for r in records:
            steps = [(e.from_status, e.to_status) for e in col.events(payment_id=r.id)]
            assert steps[-2:] == [
                (Status.DISPATCHED, Status.UNKNOWN),
                (Status.UNKNOWN, Status.PENDING),
            ], steps
            assert col.journal.verify(r.id) == []
        exchange = ch.exchange
        sim = BankSimulator(exchange.outbox, exchange.inbox, state=tmp_path / "sim", mix=Mix())
        try:
            assert sim.process_once(), "the bank found no request file"
            col.poll("bank")
            settled = {r.id: r.status for r in col.journal.find(limit=1000)}
            assert set(settled.values()) == {Status.SUCCEEDED}, settled
            assert all(sim.charges(rid.removeprefix("pay_")) == 1 for rid in settled)
        finally:
            sim.close()
