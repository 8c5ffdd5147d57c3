"""The per-client token bucket, on a clock the test turns: burst, refill, the wait it
names, and bounded memory that only ever forgets in a client's favour."""

from __future__ import annotations

from typing import Any

import pytest

from paychannels.lookup import ClientLimiter, LookupASGI
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


def test_the_client_a_request_counts_as() -> None:
    app = LookupASGI(None, trusted_proxies=["10.0.0.2"])  # type: ignore[arg-type]
    try:

        def scope(peer: str, forwarded: str | None = None) -> dict[str, Any]:
            headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
            return {"client": (peer, 5000), "headers": headers}

        assert app.client_address(scope("192.0.2.7")) == "192.0.2.7"
        assert app.client_address(scope("192.0.2.7", "198.51.100.1")) == "192.0.2.7"
        assert app.client_address(scope("10.0.0.2", "198.51.100.1, 10.0.0.2")) == "198.51.100.1"
        assert app.client_address(scope("10.0.0.2", "1.1.1.1, 198.51.100.1")) == "198.51.100.1"
        assert app.client_address(scope("10.0.0.2")) == "10.0.0.2"
        # an IPv6 subscriber has a /64 to pick addresses from: one bucket for all of them
        one, other = "2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff"
        assert app.client_address(scope(one)) == app.client_address(scope(other))
        assert app.client_address(scope(one)) == "2001:db8:1:2::/64"
        assert app.client_address(scope("::ffff:192.0.2.7")) == "192.0.2.7"
    finally:
        app.close()
