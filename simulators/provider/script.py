"""What the simulator will do next: faults on calls, and how the next payers behave.

Faults apply to the next create-order, refund or payment-code call (Alipay: the pay and
cancel calls; queries and closes are answered truly, so that recovery can find out what
happened):

- ``lose_request``: read the request, do nothing, cut the connection;
- ``lose_reply``: do it, then cut the connection without answering;
- ``garble_reply``: do it, answer with a broken signature;
- ``error_500``: answer SYSTEM_ERROR without doing anything;
- ``decline``: refuse for a business reason (limit, no authority);
- ``slow``: do it, answer after ``slow_seconds``.

Payers: ``pay`` (pays after ``pay_delay`` s), ``pay_now``, ``open`` (opens the checkout, does
not pay yet), ``abandon`` (never pays), ``late`` (pays just before the order expires),
``manual`` (waits for ``pay()`` from a test or ``/_sim/pay``).
"""

from __future__ import annotations

import random
import threading
from collections import deque
from dataclasses import dataclass

__all__ = ["FAULTS", "PAYERS", "Script"]

FAULTS = frozenset({"lose_request", "lose_reply", "garble_reply", "error_500", "decline", "slow"})
PAYERS = frozenset({"pay", "pay_now", "open", "abandon", "late", "manual"})


@dataclass
class Script:
    """Scripted faults and payer behaviours, consumed in order, then the defaults."""

    default_payer: str = "manual"
    payer_mix: tuple[tuple[str, float], ...] = ()
    pay_delay: float = 1.0
    slow_seconds: float = 6.0

    def __post_init__(self) -> None:
        self._faults: deque[str] = deque()
        self._payers: deque[str] = deque()
        self._lock = threading.Lock()
        self._random = random.Random()  # noqa: S311 - simulation, not security
        if self.default_payer not in PAYERS:
            raise ValueError(f"payer {self.default_payer!r} is not one of {sorted(PAYERS)}")

    def fault(self, *names: str) -> None:
        """Queue faults for the next create/refund calls."""
        for name in names:
            if name not in FAULTS:
                raise ValueError(f"fault {name!r} is not one of {sorted(FAULTS)}")
        with self._lock:
            self._faults.extend(names)

    def payer(self, *names: str) -> None:
        """Queue behaviours for the payers of the next orders."""
        for name in names:
            if name not in PAYERS:
                raise ValueError(f"payer {name!r} is not one of {sorted(PAYERS)}")
        with self._lock:
            self._payers.extend(names)

    def clear(self) -> None:
        """Forget queued faults and payers."""
        with self._lock:
            self._faults.clear()
            self._payers.clear()

    def next_fault(self) -> str | None:
        """The fault for this call, if one is queued."""
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def next_payer(self) -> str:
        """How the payer of a new order behaves."""
        with self._lock:
            if self._payers:
                return self._payers.popleft()
            if self.payer_mix:
                names = [n for n, _ in self.payer_mix]
                weights = [w for _, w in self.payer_mix]
                return self._random.choices(names, weights)[0]
            return self.default_payer

    @staticmethod
    def parse_mix(text: str) -> tuple[tuple[str, float], ...]:
        """``pay=0.8,abandon=0.1,late=0.1`` as weighted payer behaviours."""
        mix: list[tuple[str, float]] = []
        for part in text.split(","):
            name, _, weight = part.strip().partition("=")
            if name not in PAYERS:
                raise ValueError(f"payer {name!r} is not one of {sorted(PAYERS)}")
            try:
                mix.append((name, float(weight or 1)))
            except ValueError:
                raise ValueError(f"weight of {name!r} must be a number") from None
        return tuple(mix)
