"""How often one client may ask: a token bucket per client address.

A payer checks once or twice; a script walking through ID numbers asks thousands of times.
``burst`` checks at once, then one per ``interval`` seconds; a refused client is told how
long to wait (HTTP 429 with ``Retry-After``). Memory is bounded: the longest idle clients
are forgotten first, which only ever gives a client a full bucket again, never blocks one.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from paychannels.values.errors import ConfigurationError

__all__ = ["ClientLimiter"]


class ClientLimiter:
    """``take(client)``: 0 when the client may ask now, else the seconds to wait."""

    def __init__(
        self,
        *,
        burst: int = 5,
        interval: float = 6.0,
        max_clients: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if burst < 1 or not interval > 0 or max_clients < 1:
            raise ConfigurationError("burst and max_clients must be >= 1, interval > 0")
        self.burst = burst
        self.interval = float(interval)
        self._max = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()
        self.allowed = 0
        self.refused = 0

    def take(self, client: str) -> int:
        """Take a token for ``client``: 0 if it may ask now, else whole seconds to wait."""
        now = self._clock()
        with self._lock:
            tokens, seen = self._buckets.pop(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - seen) / self.interval)
            if tokens >= 1.0:
                self._buckets[client] = (tokens - 1.0, now)
                wait = 0
                self.allowed += 1
            else:
                self._buckets[client] = (tokens, now)
                wait = max(1, math.ceil((1.0 - tokens) * self.interval))
                self.refused += 1
            if len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
            return wait

    def __repr__(self) -> str:
        return f"ClientLimiter(burst={self.burst}, interval={self.interval:g}s)"
