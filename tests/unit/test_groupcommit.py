"""Group commit: one caller's failing change never fails the others grouped with it.

The writer here is a stand-in for ``JournalWriter.modify_group`` (same signature): it holds
the first group until released, so the next group is known to hold every later caller, and
it refuses (raises for the whole transaction) any group holding the poisoned record.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from paychannels.collector.groupcommit import GroupCommit
from paychannels.journal.base import Decide


class HeldWriter:
    def __init__(self) -> None:
        self.groups: list[list[str]] = []
        self.entered = threading.Event()
        self.release = threading.Event()

    def modify_group(
        self, items: Sequence[tuple[str, Decide]], *, committed: Callable[[], None]
    ) -> list[Any]:
        ids = [record_id for record_id, _ in items]
        self.groups.append(ids)
        if len(self.groups) == 1:
            self.entered.set()
            assert self.release.wait(10)
        if "poison" in ids:
            raise RuntimeError("the transaction failed")
        return [f"applied {record_id}" for record_id in ids]


def test_a_failing_change_fails_only_its_own_caller() -> None:
    writer = HeldWriter()
    group = GroupCommit(writer)  # type: ignore[arg-type]
    ids = ["first", "a", "poison", "b", "c"]
    with ThreadPoolExecutor(len(ids)) as pool:
        futures = {ids[0]: pool.submit(group.modify, ids[0], lambda r: [])}
        assert writer.entered.wait(10)
        for record_id in ids[1:]:
            futures[record_id] = pool.submit(group.modify, record_id, lambda r: [])
        time.sleep(0.3)  # every later caller is queued behind the held group
        assert not any(f.done() for f in futures.values())
        writer.release.set()
        assert futures["first"].result(10) == "applied first"
        for record_id in ("a", "b", "c"):
            assert futures[record_id].result(10) == f"applied {record_id}"
        with pytest.raises(RuntimeError, match="transaction failed"):
            futures["poison"].result(10)
    assert writer.groups[0] == ["first"]
    assert sorted(writer.groups[1]) == ["a", "b", "c", "poison"]  # then each alone
    assert sorted(map(tuple, writer.groups[2:])) == [("a",), ("b",), ("c",), ("poison",)]


def test_a_forked_child_does_not_wait_for_the_parents_group() -> None:
    # a Collector made before a fork (gunicorn --preload) lives on in the child: a group
    # the parent was writing at that moment has no thread in the child to finish it
    writer = HeldWriter()
    group = GroupCommit(writer)  # type: ignore[arg-type]
    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(group.modify, "parent", lambda r: [])
        assert writer.entered.wait(10)
        pid = os.fork()
        if pid == 0:  # the child: one thread, the parent's group still "being written"
            try:
                os._exit(0 if group.modify("child", lambda r: []) == "applied child" else 1)
            finally:
                os._exit(2)
        deadline = time.monotonic() + 5  # before the held write gives up (10 s)
        while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        if done[0] == 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        writer.release.set()
        assert held.result(10) == "applied parent"
    assert done[0] == pid and os.waitstatus_to_exitcode(done[1]) == 0


class FlakyWriter:
    """Commits after a short pause; every fifth transaction of more than one change fails."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.transactions = 0
        self.threads: set[int] = set()

    def modify_group(
        self, items: Sequence[tuple[str, Decide]], *, committed: Callable[[], None]
    ) -> list[Any]:
        with self.lock:
            self.transactions += 1
            fail = self.transactions % 5 == 0 and len(items) > 1
            self.threads.add(threading.get_ident())
        time.sleep(0.002)  # the GIL is free while a transaction "commits", as with sqlite3
        if fail:
            raise RuntimeError("the transaction failed")
        return [f"applied {record_id}" for record_id, _ in items]


def test_every_caller_is_answered_once_however_the_lead_passes() -> None:
    # each waiter sleeps on its own ticket and is woken exactly once (done, or next to lead):
    # a lost hand-off would leave a caller asleep for ever, so every result has a deadline
    writer = FlakyWriter()
    group = GroupCommit(writer, limit=7)  # type: ignore[arg-type]
    ids = [f"pay-{i}" for i in range(400)]
    with ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(group.modify, record_id, lambda r: []) for record_id in ids]
        results = [f.result(30) for f in futures]
    assert results == [f"applied {record_id}" for record_id in ids]
    assert len(writer.threads) > 1  # the lead did pass between callers' threads
    assert writer.transactions < len(ids)  # and changes were grouped


class FlushingWriter:
    """Commits at once, then holds the first group's flush until released."""

    def __init__(self) -> None:
        self.groups: list[list[str]] = []
        self.flushing = threading.Event()
        self.flushed = threading.Event()
        self.second_wrote = threading.Event()

    def modify_group(
        self, items: Sequence[tuple[str, Decide]], *, committed: Callable[[], None]
    ) -> list[Any]:
        ids = [record_id for record_id, _ in items]
        self.groups.append(ids)
        committed()  # the commit is done: the next group's turn
        if len(self.groups) == 1:
            self.flushing.set()
            assert self.flushed.wait(10)  # the disk is slow
        else:
            self.second_wrote.set()
        return [f"applied {record_id}" for record_id in ids]


def test_the_next_group_writes_while_the_last_is_flushed_and_nobody_is_told_early() -> None:
    writer = FlushingWriter()
    group = GroupCommit(writer)  # type: ignore[arg-type]
    answered: list[str] = []

    def call(record_id: str) -> None:
        group.modify(record_id, lambda record: [])
        answered.append(record_id)

    first = threading.Thread(target=call, args=("a",))
    first.start()
    assert writer.flushing.wait(10)
    later = [threading.Thread(target=call, args=(rid,)) for rid in ("b", "c")]
    for t in later:
        t.start()
    assert writer.second_wrote.wait(10)  # written while "a" waits for the disk
    assert "a" not in answered  # ... and "a" is not answered before its flush
    writer.flushed.set()
    for t in (first, *later):
        t.join(10)
    assert sorted(answered) == ["a", "b", "c"]
    assert writer.groups[0] == ["a"]
