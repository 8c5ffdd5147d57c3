"""Payment ids: ULID-like, Crockford base32, sorting by creation time."""

from __future__ import annotations

import random

import pytest

import paychannels.runtime.ids as ids
from paychannels.runtime.ids import new_id

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def reference(ms: int, rand: int) -> str:
    """The id's 26 characters written out digit by digit (what the fast path must equal)."""
    value = (ms << 80) | rand
    return "".join(CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def test_an_id_is_its_milliseconds_then_its_random_bits_in_crockford_base32(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(12)
    cases = [(0, 0), (2**48 - 1, 2**80 - 1), (1, 1), (1_765_000_000_000, 2**79)]
    cases += [(rng.getrandbits(48), rng.getrandbits(80)) for _ in range(500)]
    for ms, rand in cases:
        monkeypatch.setattr(ids.secrets, "randbits", lambda bits, r=rand: r)
        assert new_id("pay", now_ms=ms) == f"pay_{reference(ms, rand)}", (ms, rand)


def test_ids_sort_by_their_milliseconds() -> None:
    made = [new_id("pay", now_ms=ms) for ms in (5, 40, 1_000, 1_765_000_000_000)]
    assert made == sorted(made) and all(len(m) == 30 for m in made)
