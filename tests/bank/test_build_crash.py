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

from paychannels import Status, open_journal
from paychannels.bankfiles.ids import end_to_end_id
from tests import crashkit
from tests.bank.build_crash_child import DEBITS

CHILD = Path(__file__).with_name("build_crash_child.py")
_E2E = re.compile(r"<EndToEndId>([^<]+)</EndToEndId>")


def _run(root: Path, phase: str, *, crash_at: str = "", trace: Path | None = None) -> int:
    args = [f"sqlite:///{root}/j.db", str(root / "x"), phase]
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
            # UNKNOWN: interrupted after the spool; the channel holds it (the machine has no
            # UNKNOWN -> PENDING edge), the result file will settle it
            assert r.status in (Status.PENDING, Status.UNKNOWN, Status.NOT_SENT), r.status
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
