"""The simulated providers calling the backend back, again and again, until acknowledged.

Retry schedules are the providers' own (WeChat Pay: 15 s, 15 s, 30 s, 3 m ... ≈ 24 h;
Alipay: 4 m, 10 m, 10 m, 1 h, 2 h, 6 h, 15 h), divided by ``time_scale`` so a day passes in
seconds. Faults: duplicates sent at once on separate connections, random delays that
reorder notifications, forged, probe and stale copies a receiver must refuse, and news that
never arrives (``lost``, or ``Notifier.lose(number)`` for one order: every attempt is lost on
the way, so only asking the provider settles that payment). A backend
that answers too slowly (WeChat: 5 s) counts as a failure and is called again later.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx

__all__ = [
    "ALIPAY_SCHEDULE",
    "WECHAT_SCHEDULE",
    "Attempt",
    "Notification",
    "Notifier",
    "NotifyFaults",
]

log = logging.getLogger("paychannels.simulators.provider.notifier")

WECHAT_SCHEDULE = (15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800,
                   21600, 21600)  # fmt: skip
ALIPAY_SCHEDULE = (240, 600, 600, 3600, 7200, 21600, 54000)
VARIANTS = ("genuine", "forged", "probe", "stale")

#: builds (body, headers) for one attempt of one variant
Render = Callable[[int, str], tuple[bytes, dict[str, str]]]


@dataclass
class Notification:
    """One piece of news for the backend, with how to render each attempt."""

    provider: str
    number: str
    url: str
    render: Render
    accepted: Callable[[httpx.Response], bool]
    schedule: tuple[int, ...]
    id: int = field(default_factory=itertools.count(1).__next__)


@dataclass(frozen=True)
class Attempt:
    """One delivery attempt and what the backend answered."""

    notification: int
    provider: str
    number: str
    attempt: int
    variant: str
    status: int | None
    accepted: bool
    seconds: float
    error: str = ""


@dataclass
class NotifyFaults:
    """How badly the network and the world behave (probabilities per notification)."""

    duplicate: float = 0.0
    copies: int = 2
    reorder: float = 0.0  # seconds of random delay before the first attempt
    forged: float = 0.0
    probe: float = 0.0
    stale: float = 0.0
    lost: float = 0.0  # chance a notification never reaches the backend, whatever the retries


class Notifier:
    """Delivers notifications on the providers' retry schedules (see the module doc)."""

    def __init__(
        self,
        *,
        time_scale: float = 1.0,
        timeout: float = 5.0,
        workers: int = 8,
        faults: NotifyFaults | None = None,
        seed: int | None = None,
    ) -> None:
        self.time_scale = time_scale
        self.faults = faults or NotifyFaults()
        self._random = random.Random(seed)  # noqa: S311 - simulation, not security
        self._client = httpx.Client(timeout=timeout)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="notifier")
        self._heap: list[tuple[float, int, Notification, int, str]] = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._attempts: list[Attempt] = []
        self._done: set[int] = set()
        self._lost: set[str] = set()
        self._outstanding = 0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="notifier-clock", daemon=True)
        self._thread.start()

    # -- scheduling -------------------------------------------------------------------------

    def submit(self, note: Notification) -> None:
        """Start delivering: now (plus reorder delay), with any duplicates and fakes."""
        f = self.faults
        if note.number in self._lost or (f.lost and self._random.random() < f.lost):
            self._record(Attempt(note.id, note.provider, note.number, 0, "genuine", None, False,
                                 0.0, "lost on the way (simulated)"))  # fmt: skip
            return
        delay = self._random.uniform(0, f.reorder) if f.reorder else 0.0
        self._at(delay, note, 0, "genuine")
        if self._random.random() < f.duplicate:
            for _ in range(max(1, f.copies - 1)):
                self._at(delay, note, 0, "genuine")
        for variant, chance in (("forged", f.forged), ("probe", f.probe), ("stale", f.stale)):
            if self._random.random() < chance:
                self._at(self._random.uniform(0, f.reorder or 0.01), note, 0, variant)

    def _at(self, delay: float, note: Notification, attempt: int, variant: str) -> None:
        with self._cv:
            self._outstanding += 1
            heapq.heappush(
                self._heap, (time.monotonic() + delay, next(self._seq), note, attempt, variant)
            )
            self._cv.notify()

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._closed and (not self._heap or self._heap[0][0] > time.monotonic()):
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cv.wait(timeout)
                if self._closed:
                    return
                _, _, note, attempt, variant = heapq.heappop(self._heap)
            self._pool.submit(self._attempt, note, attempt, variant)

    def _attempt(self, note: Notification, attempt: int, variant: str) -> None:
        try:
            result = self.deliver(note, attempt=attempt, variant=variant)
            retry = variant == "genuine" and not result.accepted and note.id not in self._done
            if retry and attempt < len(note.schedule):
                self._at(note.schedule[attempt] / self.time_scale, note, attempt + 1, variant)
        finally:
            with self._cv:
                self._outstanding -= 1
                self._cv.notify_all()

    # -- delivery -------------------------------------------------------------------------------

    def deliver(self, note: Notification, *, attempt: int = 0, variant: str = "genuine") -> Attempt:
        """One attempt, synchronously; recorded in :meth:`attempts`."""
        if variant not in VARIANTS:
            raise ValueError(f"variant {variant!r} is not one of {VARIANTS}")
        body, headers = note.render(attempt, variant)
        start = time.monotonic()
        status: int | None = None
        accepted, error = False, ""
        try:
            response = self._client.post(note.url, content=body, headers=headers)
            status, accepted = response.status_code, note.accepted(response)
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        result = Attempt(
            note.id, note.provider, note.number, attempt, variant, status, accepted,
            time.monotonic() - start, error,
        )  # fmt: skip
        self._record(result)
        log.debug("notify %s %s #%d %s -> %s", note.provider, note.number, attempt, variant, status)
        return result

    def _record(self, result: Attempt) -> None:
        with self._cv:
            self._attempts.append(result)
            if result.accepted and result.variant == "genuine":
                self._done.add(result.notification)

    def lose(self, number: str) -> None:
        """Lose every notification about order (or refund) ``number`` from now on."""
        with self._cv:
            self._lost.add(number)

    def attempts(self) -> list[Attempt]:
        """Every attempt so far, in the order they finished."""
        with self._cv:
            return list(self._attempts)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is scheduled or in flight; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while self._outstanding:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(left)
        return True

    def pending(self) -> int:
        """Attempts scheduled or in flight."""
        with self._cv:
            return self._outstanding

    def close(self) -> None:
        """Stop the clock and the workers (scheduled retries are dropped)."""
        with self._cv:
            self._closed = True
            self._heap.clear()
            self._cv.notify_all()
        self._thread.join(timeout=5)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._client.close()
