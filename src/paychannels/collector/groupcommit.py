"""Group commit: concurrent credits written in one transaction, each caller answered after it.

A callback storm is many threads each wanting one small write, and every commit costs an
fsync (SQLite, which also lets one writer in at a time) or a round trip (PostgreSQL). The
first caller to arrive leads: it takes every change queued so far (up to ``limit``), writes
them with ``JournalWriter.modify_all`` in one transaction, and hands each waiting caller its
own result; callers arriving meanwhile form the next group. Nobody returns before its change
is committed and flushed, so a provider is never told "received" for a credit that is not
durable; on SQLite the flush (an fsync of the log) is taken after the write lock is let go
and shared between groups (``journal.logsync``), so the next group writes while the disk
works. No thread of its own: nothing to start or to close; a forked child starts with no
group.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from paychannels.collector.writer import JournalWriter
from paychannels.journal.base import Applied, Decide
from paychannels.runtime.forks import renew_after_fork
from paychannels.values.errors import PaychannelsError

__all__ = ["GroupCommit"]

Result = Applied | PaychannelsError


def _nothing() -> None:
    """What a retried change does between its commit and its flush."""


def _held() -> threading.Lock:
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass(slots=True)
class _Ticket:
    """One caller's change, what became of it, and the lock its caller sleeps on."""

    record_id: str
    decide: Decide
    #: held from creation; released once, by the leader: the change is done or ours to lead
    wake: threading.Lock = field(default_factory=_held, repr=False)
    done: bool = False
    result: Result | None = None
    error: BaseException | None = field(default=None, repr=False)


class GroupCommit:
    """``modify(record_id, decide)`` as ``JournalWriter.modify_group`` of one, shared by many.

    Each waiting caller sleeps on its own ticket's lock and is woken exactly once: when its
    change is committed (or failed), or when the group before it is done and it is the next
    to lead. No broadcast: a group of N wakes N callers, not every sender in the process for
    every group (each spurious wake-up is a GIL hand-off and a context switch).
    """

    def __init__(self, writer: JournalWriter, *, limit: int = 500) -> None:
        self._writer = writer
        self._limit = limit
        self._mutex = threading.Lock()
        self._queue: list[_Ticket] = []
        self._leading = False
        renew_after_fork(self)

    def after_fork(self) -> None:
        """In a forked child: the parent's group and its waiters are not ours to finish."""
        self._mutex = threading.Lock()
        self._queue = []
        self._leading = False

    def modify(self, record_id: str, decide: Decide) -> Result:
        """The change applied (``Applied``) or refused in place (``PaymentNotFound``,
        ``IllegalTransition``…); a failed transaction raises in every caller it held."""
        ticket = _Ticket(record_id, decide)
        with self._mutex:
            self._queue.append(ticket)
            lead = not self._leading
            self._leading = True
        if not lead:
            ticket.wake.acquire()  # released once by a leader: done, or ours to lead now
        if not ticket.done:
            self._lead(ticket)
        if ticket.error is not None:
            raise ticket.error
        assert ticket.result is not None
        return ticket.result

    def _lead(self, own: _Ticket) -> None:
        """Write the queued group (``own`` is in it), pass the lead on once it committed,
        and wake its callers once it is durable."""
        with self._mutex:
            batch, self._queue = self._queue[: self._limit], self._queue[self._limit :]
        passed = False

        def pass_lead() -> None:
            # committed: the next group may write while this one's flush reaches the disk
            nonlocal passed
            if passed:
                return
            passed = True
            with self._mutex:
                successor = self._queue[0] if self._queue else None
                self._leading = successor is not None
            if successor is not None:
                successor.wake.release()

        try:
            self._apply(batch, pass_lead)
        finally:
            for ticket in batch:
                ticket.done = True
            pass_lead()
            for ticket in batch:
                if ticket is not own:  # the leader's own caller is awake: it is us
                    ticket.wake.release()

    def _apply(self, batch: list[_Ticket], committed: Callable[[], None] = _nothing) -> None:
        try:
            # durable when it returns (one flush shared with the groups around it, taken
            # outside the write lock); ``committed`` runs between the commit and the flush
            items = [(t.record_id, t.decide) for t in batch]
            results = self._writer.modify_group(items, committed=committed)
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
