"""One flush of the log for many commits, taken outside the write lock (group commit).

A callback storm on SQLite waits on the disk: each group of credits commits with its own
fsync while holding the database's one write lock, so the next group cannot even begin. A
commit made inside ``deferring()`` skips its own flush; ``sync()`` then makes every commit
of this thread durable with one fsync of the log — sequential, so it carries every commit
made before it, whoever made them — shared by the threads that need it at the same moment.
The next group writes while the disk works. Nobody may be told of a deferred commit before
``sync()`` returns: that is what "answered 200 is durable" rests on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from paychannels.runtime.forks import renew_after_fork

__all__ = ["LogSync"]


class LogSync:
    """Deferred commits of one journal and the flush that makes them durable.

    ``flush`` makes every commit so far durable (SQLite: fsync of the write-ahead log);
    None when commits cannot be deferred (an in-memory database, or a backend that flushes
    on its own): then ``deferring`` defers nothing and ``sync`` has nothing to do.
    """

    def __init__(self, flush: Callable[[], None] | None) -> None:
        self._flush = flush
        self._thread = threading.local()
        self._lock = threading.Condition()
        self._committed = 0  # deferred commits so far, numbered in commit order
        self._durable = 0  # every deferred commit up to this number is on the disk
        self._flushing = False
        #: flushes so far (what a test or a benchmark can print)
        self.flushes = 0
        renew_after_fork(self)

    def after_fork(self) -> None:
        """In a forked child: the parent's commits and its flush in progress are not ours."""
        self._thread = threading.local()
        self._lock = threading.Condition()
        self._committed = self._durable = 0
        self._flushing = False

    @contextmanager
    def deferring(self) -> Iterator[None]:
        """Commits of this thread inside the block may skip their own flush."""
        self._thread.on = self._flush is not None
        try:
            yield
        finally:
            self._thread.on = False

    @property
    def active(self) -> bool:
        """Whether the commit about to start, on this thread, skips its own flush."""
        return bool(getattr(self._thread, "on", False))

    @property
    def deferred_commits(self) -> int:
        """How many commits were deferred so far."""
        return self._committed

    def committed(self) -> None:
        """After a deferred commit returned: number it, for this thread's ``sync``."""
        with self._lock:
            self._committed += 1
            self._thread.mark = self._committed

    def sync(self) -> None:
        """Return once this thread's deferred commits are on the disk (one flush, shared)."""
        mark: int = getattr(self._thread, "mark", 0)
        with self._lock:
            while self._durable < mark:
                if self._flushing:  # someone's flush is under way: it may not cover ours
                    self._lock.wait()
                    continue
                self._flushing, target = True, self._committed
                self._lock.release()
                try:
                    assert self._flush is not None  # (a mark is only taken when deferring)
                    self._flush()  # every commit numbered up to target came before it
                finally:
                    self._lock.acquire()
                    self._flushing = False
                    self._lock.notify_all()
                self._durable = max(self._durable, target)
                self.flushes += 1
