"""Time as the library sees it: an injectable clock, so deadlines and leases are testable.

Timeouts are deadlines computed from ``monotonic()``; journal timestamps come from ``now()``
(UTC, timezone-aware). Tests use ``ManualClock`` instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Protocol

__all__ = ["BEIJING", "Clock", "ManualClock", "SystemClock", "utcnow"]

#: China Standard Time (UTC+8, no daylight saving): the day of bills, reports and notices
BEIJING = timezone(timedelta(hours=8))


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class Clock(Protocol):
    """Where the library reads the time."""

    def now(self) -> datetime:
        """Wall-clock time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back, for deadlines."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return utcnow()

    def monotonic(self) -> float:
        return time.monotonic()


class ManualClock:
    """A clock that moves only when told to: ``clock.advance(seconds=30)``."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        self._mono = 1000.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def advance(self, seconds: float = 0.0, *, minutes: float = 0.0, hours: float = 0.0) -> None:
        """Move both clocks forward."""
        total = seconds + 60 * minutes + 3600 * hours
        with self._lock:
            self._now += timedelta(seconds=total)
            self._mono += total
