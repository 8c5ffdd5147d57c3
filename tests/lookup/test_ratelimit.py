"""The per-client token bucket, on a clock the test turns: burst, refill, the wait it
names, and bounded memory that only ever forgets in a client's favour."""

from __future__ import annotations

import pytest

from paychannels.lookup import ClientLimiter
from paychannels.values.errors import ConfigurationError


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_one_per_interval_with_the_wait_named() -> None:
    clock = Clock()
    limiter = ClientLimiter(burst=2, interval=6.0, clock=clock)
    assert [limiter.take("a"), limiter.take("a"), limiter.take("a")] == [0, 0, 6]
    assert limiter.take("b") == 0  # another client, its own bucket
    clock.now += 4.5
    assert limiter.take("a") == 2  # three quarters of a token: 1.5 s, rounded up
    clock.now += 1.5
    assert limiter.take("a") == 0 and limiter.take("a") == 6
    clock.now += 600
    assert [limiter.take("a") for _ in range(3)] == [0, 0, 6]  # never more than the burst
    assert (limiter.allowed, limiter.refused) == (6, 4)


def test_memory_is_bounded_and_forgets_the_idlest() -> None:
    clock = Clock()
    limiter = ClientLimiter(burst=1, interval=60, max_clients=2, clock=clock)
    assert [limiter.take(c) for c in ("a", "b", "a")] == [0, 0, 60]
    limiter.take("c")  # "b" was idle longest: forgotten, "a" still remembered
    assert limiter.take("a") == 60 and limiter.take("b") == 0


@pytest.mark.parametrize("bad", [{"burst": 0}, {"interval": 0}, {"interval": float("nan")}])
def test_nonsense_settings_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ConfigurationError):
        ClientLimiter(**bad)  # type: ignore[arg-type]
