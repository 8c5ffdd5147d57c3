"""Timestamped HMAC webhooks (Stripe style): ``Signature: t=1700000000,v1=<hex>,v1=<hex>``.

The MAC is hex HMAC-SHA256 over ``"{t}." + raw body`` with a shared secret. Several ``v1``
values may come at once while a secret is being rotated, and several secrets may be held
here for the same reason: any pair that matches proves the sender. The timestamp must be
within the tolerance in **both** directions (Stripe's own library only refuses old ones).
Comparison is constant-time; a malformed header (no timestamp, a MAC that is not 64 hex
digits) is a ``MalformedCallback``, never a crash. The window is checked after the MAC, so a
``StaleTimestamp`` always means a genuine but old delivery (a replay), worth a question.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping, Sequence

from paychannels.security.verification import (
    Headers,
    MalformedCallback,
    VerificationError,
    check_window,
    equal,
)

__all__ = ["TimestampedHmac"]

_HEX = frozenset("0123456789abcdefABCDEF")


class TimestampedHmac:
    """Verifier (and signer, for simulators) of ``t=...,v1=...`` signature headers."""

    def __init__(
        self,
        secrets: Sequence[str | bytes],
        *,
        header: str = "Stripe-Signature",
        scheme: str = "v1",
        tolerance: float = 300.0,
        now: Callable[[], float] | None = None,
    ) -> None:
        if not secrets:
            raise ValueError("at least one secret is needed")
        self._secrets = [s.encode() if isinstance(s, str) else s for s in secrets]
        self.header = header
        self.scheme = scheme
        self.tolerance = tolerance
        self._now = now or time.time

    def _mac(self, secret: bytes, timestamp: str, body: bytes) -> str:
        return hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()

    def sign(self, body: bytes, *, timestamp: int | None = None) -> str:
        """The header value for ``body`` with every held secret (newest first)."""
        ts = str(int(self._now()) if timestamp is None else timestamp)
        macs = ",".join(f"{self.scheme}={self._mac(s, ts, body)}" for s in self._secrets)
        return f"t={ts},{macs}"

    def parse(self, value: str) -> tuple[str, list[str]]:
        """The timestamp and every MAC of our scheme in a header value."""
        timestamp: str | None = None
        macs: list[str] = []
        for part in value.split(","):
            key, eq, item = part.strip().partition("=")
            if not eq:
                raise MalformedCallback("is not a list of key=value", where=f"header {self.header}")
            if key == "t":
                if timestamp is not None:
                    raise MalformedCallback("has two timestamps", where=f"header {self.header}")
                timestamp = item
            elif key == self.scheme:
                macs.append(item)
        if timestamp is None or not (timestamp.isascii() and timestamp.isdigit()):
            raise MalformedCallback("has no numeric t=", where=f"header {self.header}")
        if len(timestamp) > 12:
            raise MalformedCallback("has an absurd timestamp", where=f"header {self.header}")
        if not macs:
            raise MalformedCallback(
                f"has no {self.scheme}= signature", where=f"header {self.header}"
            )
        if not all(len(mac) == 64 and _HEX.issuperset(mac) for mac in macs):
            raise MalformedCallback(
                f"has a {self.scheme}= that is not 64 hex digits", where=f"header {self.header}"
            )
        return timestamp, macs

    def verify(self, headers: Mapping[str, str], body: bytes) -> int:
        """Prove ``body`` came from a holder of a secret; returns its timestamp."""
        hdrs = headers if isinstance(headers, Headers) else Headers(headers)
        timestamp, macs = self.parse(hdrs.one(self.header))
        matched = False
        for secret in self._secrets:
            expected = self._mac(secret, timestamp, body)
            for mac in macs:
                matched |= equal(expected, mac)  # no early exit: constant work
        if not matched:
            raise VerificationError("matches no held secret", where=f"header {self.header}")
        check_window(int(timestamp), self._now(), tolerance=self.tolerance, where="timestamp")
        return int(timestamp)
