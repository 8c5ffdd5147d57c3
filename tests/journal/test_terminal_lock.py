"""The per-terminal lock: across processes and threads, lingering briefly, dead holders replaced."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from paychannels import ChannelContext, Collector, ManualClock, MemoryChannel, NotSentError

NAME = "hall-1:terminal"


def context(col: Collector) -> ChannelContext:
    return col.channel_context("hall-1")


def collector(journal_url: str, **options: Any) -> Collector:
    c = Collector.open(journal_url, **options, create=True)
    c.add_channel("hall-1", MemoryChannel())
    return c


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/j.db"


@pytest.fixture
def col(url: str) -> Iterator[Collector]:
    c = collector(url, lock_linger=0)
    yield c
    c.close()


def dead_owner() -> str:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return f"{socket.gethostname()}/{proc.stdout.strip()}/deadbeef"


@pytest.mark.slow
def test_a_live_holder_keeps_the_terminal(col: Collector, url: str) -> None:
    other = collector(url, lock_linger=0)  # another process, as far as the journal knows
    with context(other).lock("terminal", timeout=1):
        start = time.monotonic()
        with pytest.raises(NotSentError, match="busy"), context(col).lock("terminal", timeout=0.3):
            pass
        assert time.monotonic() - start >= 0.3
    with context(col).lock("terminal", timeout=0.3):
        assert col.journal.lock_owner(NAME) == col.owner
    assert col.journal.lock_owner(NAME) is None
    other.close()


def test_threads_of_one_process_exclude_each_other(col: Collector) -> None:
    inside: list[int] = []
    overlap: list[bool] = []

    def work(i: int) -> None:
        with context(col).lock("terminal", timeout=5):
            inside.append(i)
            overlap.append(len(inside) > 1)
            time.sleep(0.02)
            inside.remove(i)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlap == [False] * 6


def test_a_dead_holder_is_replaced_at_once(col: Collector) -> None:
    now = col.clock.now()
    assert col.journal.acquire_lock(NAME, dead_owner(), until=now + timedelta(hours=1), now=now)
    start = time.monotonic()
    with context(col).lock("terminal", timeout=5):
        assert col.journal.lock_owner(NAME) == col.owner
    assert time.monotonic() - start < 1


def test_a_holder_on_another_host_is_trusted_until_its_lease_ends(col: Collector) -> None:
    now = col.clock.now()
    col.journal.acquire_lock(NAME, "elsewhere/1/x", until=now + timedelta(hours=1), now=now)
    with pytest.raises(NotSentError), context(col).lock("terminal", timeout=0.2):
        pass


@pytest.mark.slow
def test_the_lock_lingers_after_use_then_goes(url: str) -> None:
    col = collector(url, lock_linger=0.3)
    calls = []
    real = col.journal.acquire_lock

    def counting(*args: Any, **kwargs: Any) -> bool:
        calls.append(args)
        return real(*args, **kwargs)

    col.journal.acquire_lock = counting  # type: ignore[method-assign]
    for _ in range(20):  # a burst of payments: one lock commit, not twenty
        with context(col).lock("terminal", timeout=1):
            pass
    assert len(calls) == 1
    assert col.journal.lock_owner(NAME) == col.owner  # kept while the burst may go on
    other = collector(url, lock_linger=0)
    start = time.monotonic()
    with context(other).lock("terminal", timeout=3):  # waits for the linger, no longer
        assert 0.1 < time.monotonic() - start < 1.5
    other.close()
    col.close()


def test_close_gives_lingering_locks_back(url: str) -> None:
    col = collector(url, lock_linger=60)
    with context(col).lock("terminal", timeout=1):
        pass
    assert col.journal.lock_owner(NAME) == col.owner
    col.close()
    again = collector(url)
    assert again.journal.lock_owner(NAME) is None
    again.close()


def test_the_lease_is_renewed_before_it_could_run_out(url: str) -> None:
    clock = ManualClock()
    col = collector(url, lock_linger=600, clock=clock)
    lease = col.channel("hall-1").capabilities.dispatch_timeout + 60
    with context(col).lock("terminal", timeout=1):
        pass
    first = col.locks._entries[NAME].until
    clock.advance(seconds=lease - 10)  # still ours, but too short for another dispatch
    with context(col).lock("terminal", timeout=1):
        pass
    renewed = col.locks._entries[NAME].until
    assert first is not None and renewed is not None and renewed > first
    col.close()


def test_a_burst_of_uses_does_not_wake_the_reaper_each_time(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each use pushes the linger's end later; the reaper, already due to look at the old
    end, needs no wake-up for that (a wake-up per payment cost a thread switch each)."""
    waits: list[float | None] = []

    class Counting(threading.Condition):
        def wait(self, timeout: float | None = None) -> bool:
            waits.append(timeout)
            return super().wait(timeout)

    monkeypatch.setattr(threading, "Condition", Counting)
    col = collector(url, lock_linger=0.5)
    monkeypatch.undo()
    try:
        for _ in range(50):  # a burst of payments, well inside one linger
            with context(col).lock("terminal", timeout=1):
                pass
            time.sleep(0.002)  # the payment's dialogue, between two uses
        time.sleep(0.05)  # the reaper has had time to wait again after any wake-up
        assert len(waits) <= 5, f"the reaper waited {len(waits)} times for 50 uses"
        assert col.journal.lock_owner(NAME) == col.owner
    finally:
        col.close()
