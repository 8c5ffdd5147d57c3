"""How many durable commits a ZVT payment costs, counted in the SQLite write-ahead log.

Each commit with ``synchronous=FULL`` is an fsync, the largest cost of a payment over the
bare terminal dialogue (docs/performance.md). The count is read from the WAL file itself
(its commit frames), not from the library's own bookkeeping: intent + claim + the
channel's marker in one commit, the outcome in a second.
"""

from __future__ import annotations

import sqlite3
import struct
from pathlib import Path

import pytest

from paychannels import Collector, Status
from paychannels.drivers.zvt import TerminalChannel
from paychannels.runtime.crashpoints import install, uninstall
from tests.zvt.conftest import PASSWORD, Hall

WAL_HEADER = 32
FRAME_HEADER = 24


def wal_commits(db: Path) -> int:
    """Commit frames in ``db``'s write-ahead log since its last reset (same salt)."""
    data = Path(f"{db}-wal").read_bytes()
    if len(data) < WAL_HEADER:
        return 0
    page_size = struct.unpack(">I", data[8:12])[0]
    salt = data[16:24]
    commits, offset = 0, WAL_HEADER
    while offset + FRAME_HEADER + page_size <= len(data):
        header = data[offset : offset + FRAME_HEADER]
        if header[8:16] != salt:
            break  # a frame left over from before the log restarted
        if struct.unpack(">I", header[4:8])[0] != 0:
            commits += 1
        offset += FRAME_HEADER + page_size
    return commits


@pytest.mark.parametrize("hall", ["tcp"], indirect=True)
def test_a_payment_costs_two_commits(hall: Hall, tmp_path: Path) -> None:
    db = tmp_path / "journal.db"
    for _ in range(3):  # registration, the first sync, the terminal lock's row
        assert hall.pay().status is Status.SUCCEEDED
    n = 10
    before = wal_commits(db)
    for _ in range(n):
        assert hall.pay().status is Status.SUCCEEDED
    commits = wal_commits(db) - before
    assert before > 0 and commits > 0, "the WAL was checkpointed while counting"
    # intent + claim + the channel's marker, then the outcome (one spare: a lock renewal)
    assert commits <= 2 * n + 1, f"{commits} commits for {n} payments"
    hall.check_truth()


@pytest.mark.parametrize("hall", ["tcp"], indirect=True)
def test_a_marker_settled_before_its_payment_left_keeps_it_from_leaving(
    hall: Hall, tmp_path: Path
) -> None:
    """The marker comes with the intent, before the terminal lock: another Collector on the
    journal that takes the terminal in between finds it pending, asks the terminal and judges
    it never sent. The payment must then not leave (NOT_SENT), or the book would hold a
    wrong answer for an attempt that charged."""
    for _ in range(3):
        assert hall.pay().status is Status.SUCCEEDED
    other = Collector.open(f"sqlite:///{tmp_path}/journal.db")
    channel = other.add_channel("hall-1", hall.url, password=PASSWORD)
    assert isinstance(channel, TerminalChannel)
    channel.watch(
        lambda e: (
            hall.sim.terminal.tag_next(e.record_id) if e.kind == "command" and e.record_id else None
        )
    )
    between: list[Status] = []

    def meanwhile(point: str) -> None:
        if point == "collect.after_dispatch_mark" and not between:
            between.append(Status.CREATED)  # once: the other collect passes here too
            between.append(other.collect(hall.request(), channel="hall-1").status)

    hook = install(meanwhile)
    try:
        first = hall.pay()
    finally:
        uninstall(hook)
        other.close()
    assert between[1] is Status.SUCCEEDED
    assert first.status is Status.NOT_SENT, first.reason_detail
    assert "settled by another command" in (first.reason_detail or "")
    assert hall.charges(first) == 0
    retried = hall.retry(first)
    assert retried.status is Status.SUCCEEDED and hall.charges(retried) == 1
    hall.check_truth()


@pytest.mark.parametrize("hall", ["tcp"], indirect=True)
def test_a_payment_runs_eleven_statements(
    hall: Hall, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every statement SQLite runs for one ZVT ``collect()`` (issue 12 item 11): the intent
    with the channel's marker (BEGIN, the obligation and key read, the row, its events, the
    marker, COMMIT), the driver's book read under the terminal lock (how a payment finds that
    another process's recovery settled its marker), the answer (BEGIN, the row's
    compare-and-set update, its events, COMMIT). 14 before the answer stopped reading the row
    back, 13 before the connection stayed at ``synchronous=NORMAL`` (the intent's commit
    fsyncs the log itself) instead of switching for each lazy answer and back."""
    for _ in range(3):
        assert hall.pay().status is Status.SUCCEEDED
    seen: list[str] = []
    connect = sqlite3.connect

    def traced(*args: object, **kwargs: object) -> sqlite3.Connection:
        conn = connect(*args, **kwargs)  # type: ignore[arg-type]
        conn.set_trace_callback(seen.append)
        return conn

    monkeypatch.setattr(sqlite3, "connect", traced)
    with Collector.open(f"sqlite:///{tmp_path}/journal.db") as other:
        other.add_channel("hall-1", hall.url, password=PASSWORD)
        counts = []
        for _ in range(4):
            seen.clear()
            assert other.collect(hall.request(), channel="hall-1").status is Status.SUCCEEDED
            counts.append(len(seen))
    assert max(counts[1:]) <= 11, f"statements per payment {counts}: {seen}"
