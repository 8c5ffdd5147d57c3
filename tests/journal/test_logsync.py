"""One flush for many commits (``journal.logsync``): nobody returns before a flush that began
after their own commit, however the threads interleave."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from paychannels.journal import Change, open_journal
from paychannels.journal.logsync import LogSync
from paychannels.journal.sqlite import SqliteJournal
from paychannels.values.models import Record
from paychannels.values.status import Status


class _Disk:
    """A flush that records which commits it covered and can be held mid-way."""

    def __init__(self) -> None:
        self.sync: LogSync | None = None
        self.covered: list[int] = []
        self.hold = threading.Event()
        self.hold.set()
        self.entered = threading.Event()
        self.fail = False

    def flush(self) -> None:
        assert self.sync is not None
        seen = self.sync.deferred_commits  # every commit numbered so far came before us
        self.entered.set()
        self.hold.wait(5)
        if self.fail:
            raise OSError("disk gone")
        self.covered.append(seen)


def _sync_with(disk: _Disk) -> LogSync:
    disk.sync = LogSync(disk.flush)
    return disk.sync


def test_a_commit_made_during_someone_elses_flush_waits_for_a_flush_of_its_own() -> None:
    disk = _Disk()
    sync = _sync_with(disk)
    done: list[str] = []

    def first() -> None:
        with sync.deferring():
            sync.committed()  # commit 1
        sync.sync()
        done.append("first")

    def second() -> None:
        with sync.deferring():
            sync.committed()  # commit 2, made while the flush for commit 1 is under way
        sync.sync()
        done.append("second")

    disk.hold.clear()
    a = threading.Thread(target=first)
    a.start()
    assert disk.entered.wait(5)
    b = threading.Thread(target=second)
    b.start()
    b.join(0.3)
    assert done == []  # neither told: the flush under way holds, and it may not cover 2
    disk.hold.set()
    a.join(5)
    b.join(5)
    assert sorted(done) == ["first", "second"]
    assert disk.covered[0] == 1 or disk.covered[0] == 2
    assert max(disk.covered) == 2  # commit 2 was covered by a flush that saw it


def test_commits_waiting_together_share_one_flush() -> None:
    disk = _Disk()
    sync = _sync_with(disk)
    barrier = threading.Barrier(8)

    def one() -> None:
        with sync.deferring():
            sync.committed()
        barrier.wait(5)
        sync.sync()

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert disk.covered and disk.covered[-1] == 8
    assert sync.flushes < 8


def test_a_failed_flush_raises_and_the_next_sync_flushes_again() -> None:
    disk = _Disk()
    sync = _sync_with(disk)
    with sync.deferring():
        sync.committed()
    disk.fail = True
    with pytest.raises(OSError, match="disk gone"):
        sync.sync()
    disk.fail = False
    sync.sync()
    assert disk.covered == [1]


def test_without_a_flush_nothing_is_deferred() -> None:
    sync = LogSync(None)
    with sync.deferring():
        assert not sync.active
    sync.sync()  # nothing to do
    assert sync.flushes == 0


def _cancel(record: Record) -> list[Change]:
    return [Change(to_status=Status.CANCELLED)]


def _pending_journal(path: Path, synchronous: str = "full") -> tuple[SqliteJournal, list[str]]:
    from datetime import UTC, datetime

    from paychannels.journal.base import NewRecord
    from paychannels.values.models import PaymentRequest
    from paychannels.values.money import Money

    journal = open_journal(f"sqlite:///{path}?synchronous={synchronous}", create=True)
    assert isinstance(journal, SqliteJournal)
    ids = []
    now = datetime.now(UTC)
    for i in range(3):
        request = PaymentRequest(
            payer_id=f"p{i}", amount=Money("1.00", "CNY"), reference="r",
            idempotency_key=f"k{i}",
        )  # fmt: skip
        new = NewRecord(id=f"pay_{i}", kind="payment", channel="wx", request=request,
                        fingerprint=f"f{i}")  # fmt: skip
        made = journal.create(new, now=now)
        ids.append(made.record.id)
    return journal, ids


def test_sqlite_commits_inside_one_flush_are_deferred_then_flushed_once(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    journal, ids = _pending_journal(tmp_path / "j.db")
    try:
        before = journal.log_sync.flushes
        with journal.one_flush():
            for rid in ids:
                journal.modify(rid, _cancel, now=datetime.now(UTC))
            assert journal.log_sync.deferred_commits == 3
            assert journal.log_sync.flushes == before  # not yet: the block has not ended
        assert journal.log_sync.flushes == before + 1
        assert all(journal.get(rid).status is Status.CANCELLED for rid in ids)
    finally:
        journal.close()


def test_sqlite_with_synchronous_normal_defers_nothing_and_flushes_nothing(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    journal, ids = _pending_journal(tmp_path / "j.db", synchronous="normal")
    try:
        with journal.one_flush():
            journal.modify(ids[0], _cancel, now=datetime.now(UTC))
        assert journal.log_sync.deferred_commits == 0 and journal.log_sync.flushes == 0
    finally:
        journal.close()
