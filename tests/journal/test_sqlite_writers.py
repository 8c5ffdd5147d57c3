"""SQLite: writers in one process queue on a lock per database file (woken as soon as the
writer before them commits) instead of sleeping in SQLite's busy handler; writers in other
processes still meet at the file lock with the busy timeout."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from paychannels import Money, PaymentRequest, Status
from paychannels.errors import JournalUnavailable
from paychannels.journal import Change, NewRecord, open_journal
from paychannels.journal.base import Journal
from paychannels.models import Record

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def _journal(url: str) -> Journal:
    journal = open_journal(url)
    journal.migrate()
    return journal


def _record(journal: Journal) -> str:
    req = PaymentRequest(
        payer_id="152221198001010011",
        amount=Money("300.00", "CNY"),
        reference="2026",
        idempotency_key="k-1",
    )
    journal.create(NewRecord("pay_1", "payment", "memory", req, "f"), now=NOW)
    return "pay_1"


class Holder:
    """A thread inside a write transaction (``modify`` calls ``decide`` inside it) until
    released."""

    def __init__(self, journal: Journal, record: str) -> None:
        self.inside, self.go, self.order = threading.Event(), threading.Event(), []
        self.thread = threading.Thread(
            target=journal.modify, args=(record, self._decide), kwargs={"now": NOW}
        )
        self.thread.start()
        assert self.inside.wait(5)

    def _decide(self, current: Record) -> list[Change]:
        self.inside.set()
        self.go.wait(10)
        self.order.append("holder committed")
        return [Change(to_status=Status.DISPATCHED, new_attempt=True)]

    def release(self) -> None:
        self.go.set()
        self.thread.join(10)


def test_a_writer_waits_for_the_one_before_it_and_then_writes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/j.db"
    journal = _journal(url)
    other = open_journal(url)  # a second Journal object on the same file shares the lock
    holder = Holder(journal, _record(journal))
    done = threading.Event()

    def write() -> None:
        other.state_put("ch", "k", 1, expected_version=0, now=NOW)
        holder.order.append("waiter wrote")
        done.set()

    waiter = threading.Thread(target=write)
    waiter.start()
    assert not done.wait(0.3)  # queued behind the holder
    holder.release()
    assert done.wait(5)
    waiter.join(5)
    assert holder.order == ["holder committed", "waiter wrote"]
    assert journal.get("pay_1").status is Status.DISPATCHED
    assert journal.state_get("ch", "k") is not None
    other.close()
    journal.close()


def test_a_writer_waiting_longer_than_the_busy_timeout_gives_up(tmp_path: Path) -> None:
    journal = _journal(f"sqlite:///{tmp_path}/j.db?busy_timeout=0.2")
    holder = Holder(journal, _record(journal))
    try:
        with pytest.raises(JournalUnavailable, match=r"another writer of this process for 0\.2s"):
            journal.state_put("ch", "k", 1, expected_version=0, now=NOW)
    finally:
        holder.release()
    assert journal.state_put("ch", "k", 1, expected_version=0, now=NOW)  # free again
    journal.close()


def test_many_threads_writing_at_once_all_get_their_turn(tmp_path: Path) -> None:
    journal = _journal(f"sqlite:///{tmp_path}/j.db?synchronous=off&busy_timeout=10")
    errors: list[BaseException] = []

    def count() -> None:
        try:
            for _ in range(50):
                journal.state_next("ch", "counter", now=NOW)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=count) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert journal.state_next("ch", "counter", now=NOW) == 8 * 50 + 1
    journal.close()
