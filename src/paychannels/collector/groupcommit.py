"""Group commit: concurrent credits written in one transaction, each caller answered after it.

A callback storm is many threads each wanting one small write, and every commit costs an
fsync (SQLite, which also lets one writer in at a time) or a round trip (PostgreSQL). The
first caller to arrive leads: it takes every change queued so far (up to ``limit``), writes
them with ``JournalWriter.modify_all`` in one transaction, and hands each waiting caller its
own result; callers arriving meanwhile form the next group. Nobody returns before its change
is committed, so a provider is never told "received" for a credit that is not durable. No
thread of its own: nothing to start or to close; a forked child starts with no group.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from paychannels.collector.writer import JournalWriter
from paychannels.journal.base import Applied, Decide
from paychannels.runtime.forks import renew_after_fork
from paychannels.values.errors import PaychannelsError

__all__ = ["GroupCommit"]

Result = Applied | PaychannelsError


@dataclass(slots=True)
class _Ticket:
    """One caller's change, and what became of it."""

    record_id: str
    decide: Decide
    done: bool = False
    result: Result | None = None
    error: BaseException | None = field(default=None, repr=False)


class GroupCommit:
    """``modify(record_id, decide)`` as ``JournalWriter.modify_all`` of one, shared by many."""

    def __init__(self, writer: JournalWriter, *, limit: int = 500) -> None:
        self._writer = writer
        self._limit = limit
        self._cond = threading.Condition()
        self._queue: list[_Ticket] = []
        self._leading = False
        renew_after_fork(self)

    def after_fork(self) -> None:
        """In a forked child: the parent's group and its waiters are not ours to finish."""
        self._cond = threading.Condition()
        self._queue = []
        self._leading = False

    def modify(self, record_id: str, decide: Decide) -> Result:
        """The change applied (``Applied``) or refused in place (``PaymentNotFound``,
        ``IllegalTransition``…); a failed transaction raises in every caller it held."""
        ticket = _Ticket(record_id, decide)
        with self._cond:
            self._queue.append(ticket)
        while True:
            batch = self._wait_or_lead(ticket)
            if batch is None:
                break
            self._write(batch)
        if ticket.error is not None:
            raise ticket.error
        assert ticket.result is not None
        return ticket.result

    def _wait_or_lead(self, ticket: _Ticket) -> list[_Ticket] | None:
        """None when ``ticket`` is done; else the group this caller now writes as leader."""
        with self._cond:
            while not ticket.done and self._leading:
                self._cond.wait(1.0)  # the leader always wakes us; the timeout only re-checks
            if ticket.done:
                return None
            self._leading = True
            batch, self._queue = self._queue[: self._limit], self._queue[self._limit :]
            return batch

    def _write(self, batch: list[_Ticket]) -> None:
        try:
            self._apply(batch)
        finally:
            with self._cond:
                for ticket in batch:
                    ticket.done = True
                self._leading = False
                self._cond.notify_all()

    def _apply(self, batch: list[_Ticket]) -> None:
        try:
            results = self._writer.modify_all([(t.record_id, t.decide) for t in batch])
        except Exception as exc:
            if len(batch) == 1:
                batch[0].error = exc
                return
            # the whole transaction rolled back (or its commit is in doubt): each change again
            # alone, so one caller's trouble is not another's; the decisions are idempotent
            for ticket in batch:
                self._apply([ticket])
            return
        except BaseException as exc:  # interrupted: nobody in the group may hang or pass
            for ticket in batch:
                ticket.error = exc
            raise
        for ticket, result in zip(batch, results, strict=True):
            ticket.result = result
