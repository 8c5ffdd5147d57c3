"""How often one payment may be asked about at its channel: a token bucket per payment id.

Unasked news we cannot believe (a replayed callback, an event that only says "something
happened") is a reason to ask the provider or terminal — but a thousand copies of it must
not become a thousand queries. Every path that queries on such news asks ``allow(id)``
first; ``recover()`` may share the same limiter (one instance per Collector).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

__all__ = ["QueryLimiter"]


class QueryLimiter:
    """``burst`` queries per payment at once, then one per ``interval`` seconds.

    Memory is bounded: at most ``max_ids`` payments are remembered (the longest idle are
    forgotten first, which only ever allows a query, never blocks one for good).
    """

    def __init__(
        self,
        *,
        interval: float = 10.0,
        burst: int = 2,
        max_ids: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not interval > 0 or burst < 1 or max_ids < 1:
            raise ValueError("interval must be > 0, burst and max_ids at least 1")
        self.interval = interval
        self.burst = burst
        self._max_ids = max_ids
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()
        self.allowed = 0
        self.refused = 0

    def allow(self, payment_id: str) -> bool:
        """Take one token for ``payment_id``: True if a query may go out now."""
        now = self._clock()
        with self._lock:
            tokens, seen = self._buckets.pop(payment_id, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - seen) / self.interval)
            ok = tokens >= 1.0
            self._buckets[payment_id] = (tokens - 1.0 if ok else tokens, now)
            if len(self._buckets) > self._max_ids:
                self._buckets.popitem(last=False)
            if ok:
                self.allowed += 1
            else:
                self.refused += 1
            return ok
