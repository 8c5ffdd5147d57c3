"""ServiceIDs: unique per terminal within 48 hours, and found again after a crash.

Every request needs a ServiceID of 1-10 characters that the terminal has not seen in the
last 48 hours (terminals.md §5). For a payment, refund or reversal the ServiceID must also
be known after a crash, because the status request that resolves a lost answer names it.
So it is *derived* from what is being sent (kind, record id, attempt): ten digits of a
SHA-256, and *claimed* in the journal's per-channel state with a compare-and-set insert
(``nexo.sid.<ServiceID>`` -> the attempt it belongs to) before any byte leaves. The insert
is the proof of uniqueness: a ServiceID already held by another attempt is skipped for the
next candidate (a new salt), and recovery walks the same candidates to find it again. A
marker that is absent proves the attempt never left. Requests that need no finding again
(status, abort, diagnosis) take ``S`` + nine digits of a persistent counter, a disjoint set.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import JsonValue

from paychannels.channels.base import ChannelContext
from paychannels.values.errors import NotSentError

__all__ = ["Kind", "Marker", "ServiceIds"]

PREFIX = "nexo.sid."
SALTS = 16
Kind = Literal["payment", "refund", "reversal"]


@dataclass(frozen=True, slots=True)
class Marker:
    """A claimed ServiceID and the attempt it was sent for."""

    service_id: str
    record_id: str
    attempt: int
    kind: Kind
    category: str  # the header's MessageCategory: Payment or Reversal
    mode: str  # sync or async
    at: datetime

    def owned_by(self, kind: str, record_id: str, attempt: int) -> bool:
        return (self.kind, self.record_id, self.attempt) == (kind, record_id, attempt)

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "id": self.record_id,
            "attempt": self.attempt,
            "kind": self.kind,
            "category": self.category,
            "mode": self.mode,
            "at": self.at.isoformat(),
        }

    @classmethod
    def from_json(cls, service_id: str, raw: Any) -> Marker:
        return cls(
            service_id,
            str(raw["id"]),
            int(raw["attempt"]),
            raw["kind"],
            str(raw["category"]),
            str(raw["mode"]),
            datetime.fromisoformat(raw["at"]),
        )


def candidate(kind: str, record_id: str, attempt: int, salt: int) -> str:
    """The ``salt``-th ServiceID candidate for an attempt: ten decimal digits."""
    digest = hashlib.sha256(f"{kind}|{record_id}|{attempt}|{salt}".encode()).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 10**10:010d}"


class ServiceIds:
    """Claims and finds ServiceIDs through one channel context."""

    def __init__(self, ctx: ChannelContext) -> None:
        self.ctx = ctx

    def owner(self, service_id: str) -> Marker | None:
        """Which attempt a ServiceID was claimed for (None: not one of ours)."""
        if not (1 <= len(service_id) <= 10) or not service_id.isdigit():
            return None
        entry = self.ctx.state_get(PREFIX + service_id)
        return None if entry is None else Marker.from_json(service_id, entry.value)

    def claim(
        self, kind: Kind, record_id: str, attempt: int, *, category: str, mode: str = "sync"
    ) -> Marker:
        """Claim a fresh ServiceID for an attempt about to be sent (one journal commit)."""
        now = self.ctx.clock.now()
        for salt in range(SALTS):
            sid = candidate(kind, record_id, attempt, salt)
            marker = Marker(sid, record_id, attempt, kind, category, mode, now)
            if self.ctx.state_put(PREFIX + sid, marker.to_json(), expected_version=0):
                return marker
            held = self.owner(sid)
            if held is not None and held.owned_by(kind, record_id, attempt):
                raise NotSentError(
                    f"{kind} {record_id} attempt {attempt} was sent before (ServiceID {sid}); "
                    "it is resolved by asking its status, never by sending it again"
                )
        raise NotSentError(f"no free ServiceID for {kind} {record_id}; nothing was sent")

    def find(self, kind: Kind, record_id: str, attempt: int) -> Marker | None:
        """The ServiceID an attempt was sent with; None proves it never left."""
        for salt in range(SALTS):
            held = self.owner(candidate(kind, record_id, attempt, salt))
            if held is None:
                return None
            if held.owned_by(kind, record_id, attempt):
                return held
        return None

    def each(self, kind: Kind, record_id: str) -> Iterator[Marker]:
        """Every attempt of a repeated kind (reversals of one payment), in order."""
        attempt = 1
        while (marker := self.find(kind, record_id, attempt)) is not None:
            yield marker
            attempt += 1

    def claim_next(self, kind: Kind, record_id: str, *, category: str) -> Marker:
        """Claim the next attempt of a repeated kind."""
        done = sum(1 for _ in self.each(kind, record_id))
        return self.claim(kind, record_id, done + 1, category=category)

    def admin(self) -> str:
        """A ServiceID for a status, abort or diagnosis request (``S`` + nine digits)."""
        number = self.ctx.next_number("nexo.admin_service_id")
        return f"S{number % 10**9:09d}"
