"""The restore drill of docs/operations.md, run for real on SQLite and PostgreSQL.

A backend process collects payments (one of them stopped in flight: the device charged it,
the journal says DISPATCHED) while ``paychannels journal backup`` copies the journal. The
backup is restored where no journal is (``journal restore``), ``journal verify`` passes, every
payment acknowledged before the backup started is there with its events, and ``recover()``
on the restored journal settles the in-flight and unanswered ones by asking the device —
which charged each of them once, and is not asked to charge again.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from paychannels import Collector, Status, open_journal
from paychannels.channels.ledger import FileLedger
from paychannels.channels.memory import MemoryChannel
from paychannels.journal import Journal
from tests.commands import paychannels
from tests.conftest import pg_schema

CHILD = Path(__file__).with_name("writer_child.py")
ROOT = Path(__file__).resolve().parents[2]
HELD_KEY = "drill-held"
WAIT = 60.0

pytestmark = pytest.mark.slow


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``paychannels ARGS`` in its own process, bounded."""
    return paychannels(*args, cwd=ROOT, timeout=WAIT)


def acks(workdir: Path) -> dict[str, tuple[str, Status]]:
    """What the backend acknowledged so far: id -> (key, status); complete lines only."""
    path = workdir / "acks"
    text = path.read_text() if path.exists() else ""
    out: dict[str, tuple[str, Status]] = {}
    for line in text.splitlines(keepends=True):
        if line.endswith("\n"):
            rid, key, status = line.split()
            out[rid] = (key, Status(status))
    return out


def wait_for(done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def trail(journal: Journal, record_id: str) -> list[tuple[int, str, str | None]]:
    return [(e.seq, e.type.value, e.to_status) for e in journal.events(record_id=record_id)]


def drill(live: str, restored: str, tmp: Path) -> None:
    """Collect, back up under the writer, restore, verify, recover; check nothing doubled."""
    Collector.open(live, create=True).close()
    ledger = tmp / "device.sqlite"
    workdir = tmp / "work"
    workdir.mkdir()
    backup_file = tmp / "journal.backup"
    child = subprocess.Popen(
        [sys.executable, str(CHILD), live, str(ledger), str(workdir)],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: (workdir / "held").exists() and len(acks(workdir)) >= 30, "the writer")
        before = acks(workdir)  # acknowledged before the backup started
        done = cli("journal", "backup", "--db", live, "--to", str(backup_file), "--json")
        assert done.returncode == 0, done.stderr
        during = len(acks(workdir)) - len(before)
        assert during > 0, "the writer made no payment while the backup ran"
    finally:
        (workdir / "release").touch()
        (workdir / "stop").touch()
        _, err = child.communicate(timeout=WAIT)
    assert child.returncode == 0, err
    backed = json.loads(done.stdout)
    assert backed["file"] == str(backup_file)

    done = cli("journal", "restore", "--from", str(backup_file), "--db", restored, "--json")
    assert done.returncode == 0, done.stderr
    checked = cli("journal", "verify", "--db", restored, "--json")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    report = json.loads(checked.stdout)
    assert report["problems"] == {}
    assert report["checked"] >= len(before) + 1

    # every acknowledged payment is there, as acknowledged, with the events the live one has
    with open_journal(restored) as journal:
        for rid, (key, status) in before.items():
            record = journal.get(rid)
            assert (record.idempotency_key, record.status) == (key, status)
        held = journal.get_by_key(HELD_KEY)
        assert held is not None and held.status is Status.DISPATCHED  # in flight at the backup
    with open_journal(restored) as copy, open_journal(live) as journal:
        for rid in before:
            assert trail(copy, rid) == trail(journal, rid), rid
    in_doubt = [rid for rid, (_, s) in before.items() if s is Status.UNKNOWN]
    assert in_doubt, "the drill needs payments whose answer was lost"

    # recovery asks the device: the in-flight and unanswered payments were charged once
    device = MemoryChannel(FileLedger(ledger))
    with Collector.open(restored) as col:
        col.add_channel("hall-1", device)
        col.recover()
        records = {r.id: r for r in col.journal.find(limit=100_000)}
    assert device.started == [], "recovery sent a payment again"
    assert records[held.id].status is Status.SUCCEEDED
    for rid in in_doubt:
        assert records[rid].status is Status.SUCCEEDED
    for record in records.values():
        assert record.status not in (Status.DISPATCHED, Status.UNKNOWN), record.id
        taken = device.charges(record.id)
        assert taken == (1 if record.status is Status.SUCCEEDED else 0), record.id
    assert cli("journal", "verify", "--db", restored).returncode == 0


def test_restore_drill_sqlite(tmp_path: Path) -> None:
    drill(f"sqlite:///{tmp_path}/live.db", f"sqlite:///{tmp_path}/restored.db", tmp_path)


@pytest.mark.postgres
def test_restore_drill_postgres(tmp_path: Path, new_database: str) -> None:
    if not all(shutil.which(tool) for tool in ("pg_dump", "pg_restore")):
        pytest.skip("pg_dump and pg_restore are not on PATH (PostgreSQL's client programs)")
    with pg_schema() as live:
        # the dump keeps the journal's schema name: the restored URL names the same schema
        options = urlsplit(live).query
        restored = f"{new_database}?{options}"
        drill(live, restored, tmp_path)
