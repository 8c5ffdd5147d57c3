"""The Collector's door: calls admitted until it closes, then a bounded wait for them.

Closing while threads are in flight must not pull connections from under them. ``Gate``
counts the calls inside (a call made from within a call is the same call); ``close`` refuses
new ones with ``CollectorClosed`` and waits, up to a bound, for the count to reach zero.
Whoever brings it to zero after closing — ``close`` itself or the last call leaving after
the bound — runs ``on_drained`` (the rest of the closing) exactly once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from paychannels.runtime import forks
from paychannels.values.errors import CollectorClosed

__all__ = ["Gate"]


class Gate:
    """Admits calls until closed; see the module docstring."""

    def __init__(self, on_drained: Callable[[], None]) -> None:
        self._on_drained = on_drained
        self._fresh()
        forks.renew_after_fork(self)

    def _fresh(self) -> None:
        self._cond = threading.Condition()
        self._local = threading.local()
        self._inside = 0
        self._closed = False
        self._drained = False

    def enter(self) -> None:
        """Admit a call (``CollectorClosed`` once closing began); pair with ``leave``."""
        depth: int = getattr(self._local, "depth", 0)
        if depth == 0:
            with self._cond:
                if self._closed:
                    raise CollectorClosed("the Collector is closed; nothing was done")
                self._inside += 1
        self._local.depth = depth + 1

    def leave(self) -> None:
        """The call admitted by ``enter`` has ended."""
        depth: int = self._local.depth - 1
        self._local.depth = depth
        if depth:
            return
        with self._cond:
            self._inside -= 1
            last = self._closed and self._inside == 0 and not self._drained
            if last:
                self._drained = True
            self._cond.notify_all()
        if last:
            self._on_drained()

    @property
    def closed(self) -> bool:
        """Whether closing has begun."""
        return self._closed

    def close(self, timeout: float) -> int:
        """Refuse new calls, wait up to ``timeout`` s for those inside; how many still are.

        From inside a call, that call is not waited for (it would wait for itself).
        """
        mine = 1 if getattr(self._local, "depth", 0) else 0
        with self._cond:
            first = not self._closed
            self._closed = True
            self._cond.wait_for(lambda: self._inside <= mine, max(0.0, timeout))
            still = self._inside - mine
            run = first and self._inside == 0 and not self._drained
            if run:
                self._drained = True
        if run:
            self._on_drained()
        return still

    def after_fork(self) -> None:
        """In a forked child no call of the parent's is running; the door is as it was."""
        closed = self._closed
        self._fresh()
        self._closed = self._drained = closed
