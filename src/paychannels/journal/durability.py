"""When a journal commit reaches the disk: the outcome-sync rule (docs/state-machine.md).

An intent (the row, DISPATCHED, the channel's marker) is flushed before any byte leaves, as
is every other commit. A synchronous channel's *answer* (``Journal.settle``) may skip its
own flush under ``outcome_sync=lazy``: the log is sequential, so the next flushed commit of
any writer carries it to the disk too, and a power loss before that leaves the payment
DISPATCHED, which recovery resolves by asking the channel. ``OutcomeSync`` holds the rule
for one journal and bounds the window: a lazy answer is flushed within ``max_age`` seconds
(a timer, so an idle hall does not hold it), by the ``max_count``-th lazy answer in a row
(that one commits flushed) and on ``close()``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Literal

from paychannels.values.errors import InvalidURL

__all__ = ["MODES", "OutcomeSync", "outcome_sync_mode"]

log = logging.getLogger("paychannels.journal")

Mode = Literal["lazy", "full"]
MODES: tuple[Mode, ...] = ("lazy", "full")
#: the default window bounds (SQLite; PostgreSQL's WAL writer bounds its own, see the docs)
MAX_AGE = 1.0
MAX_COUNT = 100


def outcome_sync_mode(value: str | None, where: str) -> Mode:
    """The ``outcome_sync`` URL option checked (default ``lazy``); ``InvalidURL`` names it."""
    text = "lazy" if value is None else value.lower()
    for mode in MODES:
        if text == mode:
            return mode
    raise InvalidURL(f"{where}: outcome_sync must be one of {list(MODES)}")


class OutcomeSync:
    """One journal's rule for the commits of synchronous answers, and their flush window.

    ``flush`` makes every commit so far durable (SQLite: fsync of the write-ahead log); None
    when the backend needs no help (PostgreSQL's WAL writer flushes within its own delay).
    """

    def __init__(
        self,
        mode: Mode,
        flush: Callable[[], None] | None,
        *,
        max_age: float | None = MAX_AGE,
        max_count: int = MAX_COUNT,
    ) -> None:
        self.mode = mode
        self.max_age = max_age
        self.max_count = max_count
        self._flush = flush
        self._answering = threading.local()
        self._lock = threading.Condition()
        self._pending = 0  # lazy commits since the last flush
        self._since = 0.0  # monotonic time of the first of them
        self._timer: threading.Thread | None = None
        self._idle = False  # the timer waits for a window to open (not on a deadline)
        self._stopped = False
        #: lazy commits and flushes so far (what a test or a benchmark can print)
        self.lazy_commits = 0
        self.flushes = 0

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Commits of this thread inside the block are a synchronous channel's answer."""
        self._answering.on = True
        try:
            yield
        finally:
            self._answering.on = False

    @property
    def owed(self) -> bool:
        """Whether a lazy commit still waits for a flush (a backend asks only then whether
        its commit wrote, which is what closes the window)."""
        with self._lock:
            return self._pending > 0

    def lazy_now(self) -> bool:
        """Whether the write transaction about to start may commit without its own flush."""
        if self.mode != "lazy" or not getattr(self._answering, "on", False):
            return False
        with self._lock:
            return self._pending + 1 < self.max_count  # the max_count-th commits flushed

    def committed(self, *, lazy: bool, flushed: bool) -> None:
        """After a commit: a lazy one opens (or extends) the window; a flushed one that wrote
        closes it, since the log is sequential and carried every earlier commit with it."""
        with self._lock:
            if lazy:
                self.lazy_commits += 1
                if self._pending == 0:
                    self._since = time.monotonic()
                self._pending += 1
                self._wake()
            elif flushed:
                self._pending = 0

    def flush(self) -> None:
        """Make every commit so far durable now, if a lazy one may not be."""
        with self._lock:
            pending, self._pending = self._pending, 0
        if pending == 0:
            return
        try:
            if self._flush is not None:
                self._flush()
        except BaseException:
            with self._lock:  # still owed: the next flush, flushed commit or close() tries
                if self._pending == 0:
                    self._since = time.monotonic()
                self._pending += pending
            raise
        self.flushes += 1

    def close(self) -> None:
        """Flush what is pending and stop the timer (``Journal.close``)."""
        with self._lock:
            self._stopped = True
            self._lock.notify_all()
            timer, self._timer = self._timer, None
        if timer is not None and timer is not threading.current_thread():
            timer.join(timeout=5)
        self.flush()

    def after_fork(self) -> None:
        """In a forked child: no timer thread came along; the parent's window is its own."""
        self._lock = threading.Condition()
        self._timer = None
        self._idle = False
        self._pending = 0

    # -- the timer ----------------------------------------------------------------------------

    def _wake(self) -> None:
        """Start the timer thread on the first lazy commit (held: ``self._lock``)."""
        if self.max_age is None or self._flush is None or self._stopped:
            return
        if self._timer is None:
            self._timer = threading.Thread(
                target=self._watch, name="paychannels-outcome-flush", daemon=True
            )
            self._timer.start()
        elif self._idle:  # a timer waiting on a deadline wakes by it: no switch per commit
            self._lock.notify_all()

    def _watch(self) -> None:
        """Flush a lazy commit that has waited ``max_age`` for a flushed one."""
        assert self.max_age is not None
        while True:
            with self._lock:
                while not self._stopped and self._pending == 0:
                    self._idle = True
                    self._lock.wait()
                self._idle = False
                if self._stopped:
                    return
                # (a window that opened while we waited has a later deadline: wait on)
                left = self._since + self.max_age - time.monotonic()
                if left > 0:
                    self._lock.wait(timeout=left)
                    continue
            try:
                self.flush()
            except Exception as exc:  # the next flushed commit or close() will carry it
                log.warning("flushing the journal's lazy outcomes failed: %s", exc)
                time.sleep(self.max_age)
