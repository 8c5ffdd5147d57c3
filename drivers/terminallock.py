"""One command at a time per terminal: the journal's lock across processes, a thread lock within.

A terminal (ZVT, MIS-POS) runs one transaction at a time, and the identification of an
in-doubt attempt (the terminal book) relies on nothing else reaching the terminal in
between. ``TerminalLock.hold(ctx)`` takes the journal's named lock ``terminal`` (every
process on the journal, scoped by channel name) and then this process's thread lock;
without a context (a field tool outside a payment) only the thread lock. Waiting longer
than ``timeout`` for the thread lock is a ``NotSentError``: nothing was sent.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from paychannels.channels.base import ChannelContext
from paychannels.values.errors import NotSentError

__all__ = ["TerminalLock"]


class TerminalLock:
    """See the module docstring."""

    def __init__(self, where: str, *, timeout: float = 30.0) -> None:
        self.where = where
        self.timeout = timeout
        self._local = threading.Lock()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """This process's lock alone (the journal's is already held, or there is none)."""
        if not self._local.acquire(timeout=self.timeout):
            raise NotSentError(f"{self.where} is busy in this process; nothing was sent")
        try:
            yield
        finally:
            self._local.release()

    @contextmanager
    def hold(self, ctx: ChannelContext | None) -> Iterator[None]:
        """The journal's terminal lock (when there is a context), then this process's."""
        if ctx is None:
            with self.exclusive():
                yield
            return
        with ctx.lock("terminal", timeout=self.timeout), self.exclusive():
            yield
