"""``IndexOrder``: a roster's entries back in the journal's index order (payer, reference;
the file's order among equals), every field as read, and no scratch file left behind."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from paychannels.documents.roster import RosterEntry
from paychannels.documents.rosterorder import IndexOrder
from paychannels.values.money import Money


def _entry(line: int, payer: str, period: str, **kw: Any) -> RosterEntry:
    return RosterEntry(line, payer, "张三", Money.of_minor(38000, "CNY"), period, **kw)


def test_entries_come_back_sorted_by_payer_and_reference_with_every_field() -> None:
    full = _entry(
        4,
        "150422199001010011",
        "2026",
        insurance_type="城乡居民基本养老保险",
        channels=("bank", "wechat"),
        mandate_date=date(2025, 3, 1),
        extra={"备注": "x"},
        account="6217000010000000000",
    )
    given = [
        _entry(1, "150422199001010029", "2026"),
        full,
        _entry(2, "150422199001010011", "2025"),
        _entry(3, "150422199001010029", "2026"),  # the same key: the file's order kept
    ]
    with IndexOrder() as order:
        for e in given:
            order.add(e)
        got = list(order.entries())
    assert order.count == 4
    assert [(e.payer_id, e.reference, e.line) for e in got] == [
        ("150422199001010011", "2025", 2),
        ("150422199001010011", "2026:城乡居民基本养老保险", 4),
        ("150422199001010029", "2026", 1),
        ("150422199001010029", "2026", 3),
    ]
    assert got[1] == full


def test_close_lets_the_scratch_go() -> None:
    order = IndexOrder()
    order.add(_entry(1, "P1", "2026"))
    order.close()
    with pytest.raises(sqlite3.ProgrammingError):  # closed: nothing of it is read again
        list(order.entries())


_KILLED_CHILD = """
import os, signal, sys
from paychannels.documents.roster import RosterEntry
from paychannels.documents.rosterorder import IndexOrder
from paychannels.values.money import Money
order = IndexOrder()
for i in range(30_000):  # well past SQLite's page cache: the scratch spills to its file
    order.add(RosterEntry(i, f"15042219900101{i:04d}", "张三", Money.of_minor(38000, "CNY"),
                          "2026", account=f"62170000{i:011d}"))
next(iter(order.entries()))  # sorting: every entry is in the scratch file now
print("sorting", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_build_leaves_no_scratch_file_of_ids_and_accounts(tmp_path: Path) -> None:
    """The scratch holds payers' ID and account numbers: a SIGKILLed ``batch build`` (no
    ``close()``) must leave none of it on the disk (old code: a paychannels-order-* folder)."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch), "SQLITE_TMPDIR": str(scratch)}
    done = subprocess.run(
        [sys.executable, "-c", _KILLED_CHILD],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert done.stdout.strip() == "sorting"
    assert sorted(p.name for p in scratch.rglob("*")) == []
