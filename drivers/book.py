"""A terminal's book: what the ECR knows about one terminal's journal, persisted in ours.

Terminals without a payment id that crosses the wire (ZVT, bank MIS-POS) are asked about an
in-doubt attempt by their own sequence numbers (a receipt or trace number). Before any byte
of a booking command leaves, the channel persists a *marker* naming the attempt (record id
and attempt number, kind, amount) and the terminal's last sequence number known at that
moment (``before``); after the command, the result. An attempt whose answer was lost is
identified by asking the terminal for its last transaction and comparing with ``before`` —
how is the protocol's own business (``identify`` in each driver). The next command on the
terminal settles a leftover marker first, so a later transaction never spoils it.

State (journal channel state, JSON): ``<prefix>.terminal`` holds the last sequence number,
the pending marker and the last few clean results; ``<prefix>.answer.<kind>.<id>.<attempt>``
holds each result learned by asking again, kept for good.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import JsonValue

from paychannels.channels.base import ChannelContext
from paychannels.values.errors import NotSentError
from paychannels.values.models import Record

__all__ = ["FORGOTTEN", "NEVER_SENT", "Attempt", "Book", "BookState", "Lookup", "Result", "Verdict"]

NEVER_SENT = (
    "no command for this attempt ever left (the marker is written before any byte); a retry is safe"
)
FORGOTTEN = (
    "the terminal book no longer remembers this attempt; compare with the terminal's journal"
)

RECENT = 8
Verdict = Literal["booked", "not_booked", "ambiguous"]


@dataclass(frozen=True, slots=True)
class Result:
    """What the terminal says became of an attempt (``result_code``: ZVT's byte; protocols
    with text codes keep theirs in ``data``)."""

    verdict: Verdict
    result_code: int | None = None
    receipt: int | None = None
    trace: int | None = None
    terminal_id: int | None = None
    amount: int | None = None
    detail: str = ""
    data: dict[str, JsonValue] = field(default_factory=dict)

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "verdict": self.verdict,
            "rc": self.result_code,
            "receipt": self.receipt,
            "trace": self.trace,
            "tid": self.terminal_id,
            "amount": self.amount,
            "detail": self.detail,
            "data": dict(self.data),
        }

    @classmethod
    def from_json(cls, raw: Any) -> Result:
        data = raw.get("data") or {}
        return cls(
            verdict=raw["verdict"],
            result_code=raw.get("rc"),
            receipt=raw.get("receipt"),
            trace=raw.get("trace"),
            terminal_id=raw.get("tid"),
            amount=raw.get("amount"),
            detail=raw.get("detail", ""),
            data=dict(data),
        )


@dataclass(frozen=True, slots=True)
class Attempt:
    """A booking command about to leave (the marker), or done (with its result)."""

    id: str
    attempt: int
    kind: str  # payment, refund, reversal... (each driver names its own)
    amount: int | None
    before: int | None
    at: str
    result: Result | None = None

    def key(self) -> tuple[str, int, str]:
        return (self.id, self.attempt, self.kind)

    def to_json(self) -> dict[str, JsonValue]:
        out: dict[str, JsonValue] = {
            "id": self.id,
            "attempt": self.attempt,
            "kind": self.kind,
            "amount": self.amount,
            "before": self.before,
            "at": self.at,
        }
        if self.result is not None:
            out["result"] = self.result.to_json()
        return out

    @classmethod
    def from_json(cls, raw: Any) -> Attempt:
        result = Result.from_json(raw["result"]) if raw.get("result") else None
        return cls(
            id=raw["id"],
            attempt=raw["attempt"],
            kind=raw["kind"],
            amount=raw.get("amount"),
            before=raw.get("before"),
            at=raw["at"],
            result=result,
        )


@dataclass
class BookState:
    """The ``<prefix>.terminal`` document; ``version`` 0 means it was never written."""

    synced: bool = False
    last_receipt: int | None = None
    since: str | None = None
    pending: Attempt | None = None
    #: the last few finished attempts, kept as stored (parsed only when one is looked up)
    recent: list[dict[str, JsonValue]] = field(default_factory=list)
    version: int = 0

    def remember(self, done: Attempt) -> None:
        """Move a finished attempt into ``recent``; the oldest falls out and moves ``since``."""
        self.recent.append(done.to_json())
        while len(self.recent) > RECENT:
            gone = str(self.recent.pop(0)["at"])
            self.since = max(self.since or gone, gone)

    def mark(self, record_id: str, attempt: int, kind: str, amount: int | None, at: str) -> Attempt:
        """The marker of an attempt about to leave, now pending; it names the terminal's last
        number if the book knows it (the attempt is recognised by what comes after)."""
        before = self.last_receipt if self.synced else None
        self.pending = Attempt(record_id, attempt, kind, amount, before, at)
        return self.pending

    def last_after(self, number: int | None, *, unsure: bool) -> tuple[int | None, bool]:
        """The terminal's last number, and whether the book knows it, after an attempt that
        answered with ``number``; without one the book's stays, unless the attempt may have
        taken a number unseen (``unsure``): then the next command asks the terminal first."""
        if number is not None:
            return number, True
        return self.last_receipt, self.synced and not unsure

    def finish(self, done: Attempt, *, last_receipt: int | None, synced: bool) -> None:
        """The pending attempt is decided: into ``recent``, with the terminal's last number."""
        self.pending = None
        self.remember(done)
        self.last_receipt, self.synced = last_receipt, synced

    def find(self, key: tuple[str, int, str]) -> Attempt | None:
        for raw in self.recent:
            if (raw["id"], raw["attempt"], raw["kind"]) == key:
                return Attempt.from_json(raw)
        return None

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "synced": self.synced,
            "last_receipt": self.last_receipt,
            "since": self.since,
            "pending": None if self.pending is None else self.pending.to_json(),
            "recent": list(self.recent),
        }

    @classmethod
    def from_json(cls, raw: Any, version: int) -> BookState:
        pending = Attempt.from_json(raw["pending"]) if raw.get("pending") else None
        recent = list(raw.get("recent", []))
        return cls(
            synced=bool(raw.get("synced")),
            last_receipt=raw.get("last_receipt"),
            since=raw.get("since"),
            pending=pending,
            recent=recent,
            version=version,
        )


@dataclass(frozen=True, slots=True)
class Lookup:
    """Where the book stands on one attempt (see ``Book.lookup``)."""

    #: answer / recent: ``result`` says it; pending: ``state`` holds its marker, ask the
    #: terminal; never: no marker ever (NEVER_SENT); forgotten: too old to tell (FORGOTTEN)
    kind: Literal["answer", "recent", "pending", "never", "forgotten"]
    result: Result | None = None
    state: BookState | None = None


class Book:
    """Reads and writes the book through a channel context (compare-and-set)."""

    def __init__(self, ctx: ChannelContext, *, prefix: str) -> None:
        self.ctx = ctx
        self.prefix = prefix

    @property
    def state_key(self) -> str:
        return f"{self.prefix}.terminal"

    def load(self) -> BookState:
        entry = self.ctx.state_get(self.state_key)
        if entry is None:
            return BookState()
        return BookState.from_json(entry.value, entry.version)

    def try_save(self, state: BookState) -> bool:
        """Write if nobody wrote since ``state`` was read (compare-and-set on its version)."""
        if not self.ctx.state_put(self.state_key, state.to_json(), expected_version=state.version):
            return False
        state.version += 1
        return True

    def save(self, state: BookState) -> None:
        if not self.try_save(state):
            raise NotSentError(
                "the terminal book changed under us (another process without the terminal "
                "lock?); nothing was sent"
            )

    def _answer_key(self, kind: str, record_id: str, attempt: int) -> str:
        return f"{self.prefix}.answer.{kind}.{record_id}.{attempt}"

    def answer(self, kind: str, record_id: str, attempt: int) -> Result | None:
        entry = self.ctx.state_get(self._answer_key(kind, record_id, attempt))
        return None if entry is None else Result.from_json(entry.value)

    def put_answer(self, done: Attempt) -> None:
        assert done.result is not None
        key = self._answer_key(done.kind, done.id, done.attempt)
        self.ctx.state_put(key, done.result.to_json(), expected_version=0)

    def lookup(self, kind: str, record: Record) -> Lookup:
        """What the book knows about ``record``'s current attempt of ``kind``."""
        known = self.answer(kind, record.id, record.attempt)
        if known is not None:
            return Lookup("answer", known)
        state = self.load()
        key = (record.id, record.attempt, kind)
        if state.pending is not None and state.pending.key() == key:
            return Lookup("pending", state=state)
        found = state.find(key)
        if found is not None and found.result is not None:
            return Lookup("recent", found.result)
        if state.since is None or record.created_at > datetime.fromisoformat(state.since):
            return Lookup("never")
        return Lookup("forgotten")

    def now(self) -> str:
        stamp: datetime = self.ctx.clock.now()
        return stamp.isoformat()
