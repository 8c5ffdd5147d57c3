"""The ``Link``: a byte pipe to a device (serial port, TCP socket, loopback) with deadlines.

Drivers frame and parse; a link only moves bytes. Every read takes an absolute deadline on
``time.monotonic()`` instead of a sleep or a per-call timeout, so a protocol's timers (ZVT's
T1-T4) compose without drift. Errors are typed so callers can tell "provably nothing was
sent" (``LinkConnectError``, a ``NotSentError``) from "sent, no answer" (``LinkTimeout``,
``LinkClosed`` after a write).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from types import TracebackType

from paychannels.values.errors import LinkClosed, LinkError, LinkTimeout

__all__ = ["DRAIN_LIMIT", "Link", "deadline_in"]

#: the most ``drain`` reads at once (stale answers are a few hundred bytes)
DRAIN_LIMIT = 64 * 1024


def deadline_in(seconds: float) -> float:
    """The absolute deadline ``seconds`` from now, on the clock links use."""
    return time.monotonic() + seconds


class Link(ABC):
    """An open-able, close-able byte link; see the module docstring."""

    #: where the link goes, safe to log (no secrets)
    url: str

    def __init__(self, url: str) -> None:
        self.url = url
        self._written = 0

    # -- lifecycle ----------------------------------------------------------------------

    @abstractmethod
    def open(self) -> None:
        """Connect or open the port; ``LinkConnectError`` says why not (nothing was sent)."""

    @property
    @abstractmethod
    def is_open(self) -> bool:
        """Whether the link is open now."""

    @abstractmethod
    def close(self) -> None:
        """Close the link; closing a closed link does nothing."""

    @property
    def written(self) -> int:
        """How many bytes were handed to the device since the link was last opened."""
        return self._written

    def _opened(self) -> None:
        self._written = 0

    # -- bytes --------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Send all of ``data``; a failure part-way leaves ``written`` counting what left."""
        if not self.is_open:
            raise LinkClosed(f"{self.url}: write on a closed link")
        self._write(data)

    def read(self, max_bytes: int, *, deadline: float) -> bytes:
        """At least one and at most ``max_bytes`` bytes; ``LinkTimeout`` at the deadline."""
        if not self.is_open:
            raise LinkClosed(f"{self.url}: read on a closed link")
        if max_bytes < 1:
            raise ValueError("max_bytes must be at least 1")
        return self._read(max_bytes, deadline)

    def read_exactly(self, count: int, *, deadline: float) -> bytes:
        """Exactly ``count`` bytes, or ``LinkTimeout`` naming how many arrived."""
        buf = bytearray()
        while len(buf) < count:
            try:
                buf += self.read(count - len(buf), deadline=deadline)
            except LinkTimeout:
                raise LinkTimeout(
                    f"{self.url}: {len(buf)} of {count} bytes arrived before the deadline"
                ) from None
        return bytes(buf)

    def drain(self, *, limit: int = DRAIN_LIMIT) -> bytes:
        """Whatever is already waiting to be read, without waiting (stale bytes, leftovers);
        at most ``limit`` bytes, so a peer that never stops sending cannot keep us here."""
        out = bytearray()
        while len(out) < limit:
            try:
                out += self.read(min(4096, limit - len(out)), deadline=time.monotonic())
            except LinkTimeout:
                break
        return bytes(out)

    @abstractmethod
    def _write(self, data: bytes) -> None:
        """Send ``data``, adding each chunk that left to ``self._written``."""

    @abstractmethod
    def _read(self, max_bytes: int, deadline: float) -> bytes:
        """Read 1..max_bytes bytes before ``deadline`` (``deadline`` may already be past)."""

    # -- context manager ------------------------------------------------------------------

    def __enter__(self) -> Link:
        if not self.is_open:
            self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "open" if self.is_open else "closed"
        return f"<{type(self).__name__} {self.url} {state}>"


def remaining(deadline: float) -> float:
    """Seconds left until ``deadline`` (never negative)."""
    return max(0.0, deadline - time.monotonic())


def check_failed(url: str, action: str, exc: BaseException) -> LinkError:
    """A uniform message for an OS-level failure on a link."""
    return LinkError(f"{url}: {action} failed: {type(exc).__name__}: {exc}")
