"""The lazy answer's window (``journal.durability.OutcomeSync``): which commit may skip its
flush, and what bounds how long one waits for the next flush. The flush here is a recorder
(the real ones: fsync of SQLite's log, a flushed PostgreSQL commit, in test_outcome_sync)."""

from __future__ import annotations

import time

import pytest

from paychannels.journal.durability import OutcomeSync, outcome_sync_mode
from paychannels.values.errors import InvalidURL


class Disk:
    """Counts flushes; fails the next one when told to."""

    def __init__(self) -> None:
        self.flushes = 0
        self.fail_next = False

    def flush(self) -> None:
        if self.fail_next:
            self.fail_next = False
            raise OSError("disk unplugged")
        self.flushes += 1


def lazy_commit(sync: OutcomeSync) -> bool:
    """One answer's commit as a journal makes it; whether it went without its flush."""
    with sync.answering():
        lazy = sync.lazy_now()
    sync.committed(lazy=lazy, flushed=not lazy)
    return lazy


def test_only_an_answer_under_lazy_skips_its_flush() -> None:
    full = OutcomeSync("full", Disk().flush)
    with full.answering():
        assert not full.lazy_now()
    lazy = OutcomeSync("lazy", Disk().flush)
    assert not lazy.lazy_now()  # an intent, a callback, anything but an answer
    with lazy.answering():
        assert lazy.lazy_now()
    assert not lazy.lazy_now()


def test_the_max_count_th_answer_in_a_row_commits_flushed() -> None:
    disk = Disk()
    sync = OutcomeSync("lazy", disk.flush, max_age=None, max_count=3)
    assert [lazy_commit(sync) for _ in range(4)] == [True, True, False, True]


def test_a_flushed_commit_closes_the_window() -> None:
    disk = Disk()
    sync = OutcomeSync("lazy", disk.flush, max_age=None)
    assert lazy_commit(sync)
    sync.committed(lazy=False, flushed=True)  # the next intent: the log carried the answer
    sync.close()
    assert disk.flushes == 0


def test_close_flushes_a_pending_answer_and_a_failed_flush_stays_owed() -> None:
    disk = Disk()
    sync = OutcomeSync("lazy", disk.flush, max_age=None)
    assert lazy_commit(sync)
    disk.fail_next = True
    with pytest.raises(OSError):
        sync.flush()
    sync.close()
    assert disk.flushes == 1 and sync.flushes == 1


def test_an_idle_answer_is_flushed_within_max_age() -> None:
    disk = Disk()
    sync = OutcomeSync("lazy", disk.flush, max_age=0.05)
    try:
        started = time.monotonic()
        assert lazy_commit(sync)
        deadline = started + 5.0
        while disk.flushes == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert disk.flushes == 1
        assert time.monotonic() - started < 2.0
        assert lazy_commit(sync)  # the timer keeps watching the next window
        deadline = time.monotonic() + 5.0
        while disk.flushes == 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert disk.flushes == 2
    finally:
        sync.close()


def test_the_mode_is_checked() -> None:
    assert outcome_sync_mode(None, "j") == "lazy"
    assert outcome_sync_mode("FULL", "j") == "full"
    with pytest.raises(InvalidURL, match="j: outcome_sync must be one of"):
        outcome_sync_mode("never", "j")


def test_a_window_opened_while_the_timer_waits_on_a_deadline_is_flushed_by_max_age() -> None:
    """The timer is woken only when it idles (no switch per commit): a window that opens
    while it waits on an earlier deadline is still flushed within ``max_age`` of opening."""
    disk = Disk()
    sync = OutcomeSync("lazy", disk.flush, max_age=0.3)
    try:
        assert lazy_commit(sync)  # window 1: the timer waits on its deadline
        time.sleep(0.1)
        sync.committed(lazy=False, flushed=True)  # closed by a flushed commit
        assert lazy_commit(sync)  # window 2 opens while the timer waits on window 1's
        opened = time.monotonic()
        while disk.flushes == 0 and time.monotonic() - opened < 5:
            time.sleep(0.01)
        waited = time.monotonic() - opened
        assert disk.flushes == 1
        assert 0.25 <= waited < 1.5, f"flushed {waited:.2f} s after the window opened"
    finally:
        sync.close()
