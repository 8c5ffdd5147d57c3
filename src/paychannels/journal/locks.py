"""Named locks shared by every process on a journal (one payment at a time per terminal).

A lock is a journal row naming its owner and a lease. This table adds what the row
cannot: exclusion between threads of one process (they share the owner name), taking over
at once a lock whose process on this host has died, and a short *linger* — after use the
lock is kept for ``linger`` seconds, so a burst of payments on one terminal costs no lock
commits after the first, while another process waits at most that long once it is idle.
The lease is renewed while the lock is in use, so it always outlives the longest dispatch.

The owner's name is read at each use, so a child forked from a process holding locks
(gunicorn ``--preload``) holds none of them and names itself, never its parent.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from paychannels.journal.base import Journal
from paychannels.runtime import forks
from paychannels.runtime.clock import Clock
from paychannels.runtime.ids import Owner
from paychannels.values.errors import JournalClosed, NotSentError

__all__ = ["LockTable"]

log = logging.getLogger("paychannels.journal.locks")


@dataclass
class _Entry:
    local: threading.Lock = field(default_factory=threading.Lock)
    until: datetime | None = None  # end of our lease on the journal row, if we hold it
    release_at: float | None = None  # monotonic time the lingering lock goes back


class LockTable:
    """This process's view of the journal's named locks; see the module docstring."""

    def __init__(
        self,
        journal: Journal,
        owner: Owner,
        clock: Clock,
        *,
        owner_alive: Callable[[str], bool],
        linger: float = 1.0,
    ) -> None:
        self.journal = journal
        self._owner = owner
        self.clock = clock
        self.owner_alive = owner_alive
        self.linger = linger
        self._closed = False
        self._fresh()
        forks.renew_after_fork(self)

    def _fresh(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._guard = threading.Condition()
        self._reaper: threading.Thread | None = None
        #: when the reaper will look again by itself (None: not until woken)
        self._wake_at: float | None = 0.0

    @property
    def owner(self) -> str:
        """The name this process's locks bear (see ``paychannels.runtime.ids.Owner``)."""
        return self._owner.name

    def after_fork(self) -> None:
        """In a forked child: the parent's locks are the parent's; its threads are gone."""
        self._fresh()

    def _entry(self, name: str) -> _Entry:
        with self._guard:
            return self._entries.setdefault(name, _Entry())

    @contextmanager
    def hold(self, name: str, *, lease: float, timeout: float) -> Iterator[None]:
        """Hold ``name`` (``NotSentError`` if it stays busy for ``timeout`` seconds).

        ``lease`` is the longest the caller may keep it; it is renewed to cover that.
        """
        deadline = time.monotonic() + timeout
        entry = self._entry(name)
        if not entry.local.acquire(timeout=max(0.0, timeout)):
            raise NotSentError(f"{name} is busy in this process; nothing was sent")
        try:
            entry.release_at = None
            now = self.clock.now()
            # renew early enough that the lease outlives this use, however long it takes
            margin = min(30.0, lease / 2)
            if entry.until is None or entry.until - now < timedelta(seconds=lease - margin):
                self._acquire(name, lease, deadline)
                entry.until = now + timedelta(seconds=lease)
            yield
        finally:
            if entry.until is not None and (self.linger <= 0 or not self._linger(entry)):
                self._give_back(name, entry)
            entry.local.release()

    def _acquire(self, name: str, lease: float, deadline: float) -> None:
        while True:
            now = self.clock.now()
            until = now + timedelta(seconds=lease)
            if self.journal.acquire_lock(name, self.owner, until=until, now=now):
                return
            holder = self.journal.lock_owner(name)
            if holder is not None and not self.owner_alive(holder):
                # its process died holding it (a crash mid-payment): the lease would keep
                # the terminal unusable for minutes, so take it over now, as recovery does
                self.journal.release_lock(name, holder)
                log.warning("%s: took over the lock of dead process %s", name, holder)
                continue
            if time.monotonic() >= deadline:
                raise NotSentError(f"{name} is busy with another payment; nothing was sent")
            time.sleep(0.05)

    def _linger(self, entry: _Entry) -> bool:
        """Keep the lock a little; False when closing (give it back now instead)."""
        with self._guard:
            if self._closed:
                return False
            entry.release_at = time.monotonic() + self.linger
            if self._reaper is None:
                self._reaper = threading.Thread(
                    target=self._reap, name="paychannels-locks", daemon=True
                )
                self._reaper.start()
            elif self._wake_at is None or entry.release_at < self._wake_at:
                # the reaper sleeps past this end (or for good): wake it. A later end than
                # the one it will look at anyway needs nothing — a burst of payments would
                # otherwise cost a thread switch each
                self._guard.notify()
            return True

    def _reap(self) -> None:
        """Give back lingering locks whose time has come (one thread per table)."""
        while True:
            with self._guard:
                if self._closed:
                    return
                now = time.monotonic()
                due = [
                    (n, e)
                    for n, e in self._entries.items()
                    if e.release_at is not None and e.release_at <= now
                ]
                if not due:
                    waits = [e.release_at - now for e in self._entries.values() if e.release_at]
                    timeout = min(waits, default=None)
                    self._wake_at = None if timeout is None else now + timeout
                    self._guard.wait(timeout)
                    self._wake_at = 0.0  # awake: the next round looks at every entry
                    continue
            for name, entry in due:
                if entry.local.acquire(blocking=False):  # else in use again: it lingers anew
                    try:
                        if entry.release_at is not None and entry.release_at <= time.monotonic():
                            self._give_back(name, entry)
                    finally:
                        entry.local.release()

    def _give_back(self, name: str, entry: _Entry) -> None:
        entry.until = entry.release_at = None
        try:
            self.journal.release_lock(name, self.owner)
        except JournalClosed:
            log.info("%s: journal closed; the lock's lease runs out by itself", name)
        except Exception:  # the lease runs out by itself; nothing else depends on this
            log.exception("%s: releasing the lock failed", name)

    def release_all(self) -> None:
        """Give back every lingering lock now (the Collector is closing); a lock in use is
        given back by its holder when done, not waited for here."""
        with self._guard:
            self._closed = True
            self._guard.notify()
            entries = list(self._entries.items())
        for name, entry in entries:
            if entry.local.acquire(blocking=False):
                try:
                    if entry.until is not None:
                        self._give_back(name, entry)
                finally:
                    entry.local.release()
