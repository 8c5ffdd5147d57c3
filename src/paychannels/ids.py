"""Identifiers: time-ordered, collision-resistant ids for payments, refunds and events.

Like ULIDs: 48 bits of milliseconds then 80 random bits in Crockford base32, so ids sort
by creation time in the journal and in logs, and two processes never collide.
"""

from __future__ import annotations

import secrets
import time

__all__ = ["new_id"]

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _base32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def new_id(prefix: str, *, now_ms: int | None = None) -> str:
    """A new id like ``pay_01JD3M8Q2W5X7Y9Z0ABCDEFGHJ`` (prefix, ``_``, 26 characters)."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    return f"{prefix}_{_base32(ms, 10)}{_base32(secrets.randbits(80), 16)}"
