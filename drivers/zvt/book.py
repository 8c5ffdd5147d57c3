"""The terminal book: what the ECR knows about one terminal's journal, persisted in ours.

An in-doubt payment is identified at the terminal by receipt numbers. Before any byte of a
booking command leaves, the channel persists a *marker* naming the attempt (record id and
attempt number, kind, amount) and the terminal's last receipt number known at that moment
(``before``). A terminal books one transaction at a time and assigns receipt numbers in
sequence, the config byte forbids payments started at its keypad, and the per-terminal
lock keeps our own processes apart, so the attempt, if the terminal booked it, is the
transaction with receipt ``before + 1``. Recovery asks for the last status information
again (``06 20``) and compares: receipt ``before`` -> nothing was booked; ``before + 1``
with our amount -> ours, its result code decides; anything else -> ambiguous (a person
looks). See docs/channels/zvt.md.

State (journal channel state, JSON): ``zvt.terminal`` holds the last receipt, the pending
marker and the last few clean results; ``zvt.answer.<kind>.<id>.<attempt>`` holds each
result learned by asking again, kept for good.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import JsonValue

from paychannels.channels.base import ChannelContext
from paychannels.drivers.zvt.replies import StatusInformation
from paychannels.errors import NotSentError

__all__ = ["Attempt", "Book", "BookState", "Result", "identify", "next_receipt"]

STATE_KEY = "zvt.terminal"
RECENT = 8
Kind = Literal["payment", "refund", "reversal", "end_of_day"]
Verdict = Literal["booked", "not_booked", "ambiguous"]


def next_receipt(receipt: int) -> int:
    """The receipt number after ``receipt`` (four BCD digits, 0001..9999, wrapping)."""
    return receipt % 9999 + 1


@dataclass(frozen=True, slots=True)
class Result:
    """What the terminal says became of an attempt."""

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
    kind: Kind
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
    """The ``zvt.terminal`` document; ``version`` 0 means it was never written."""

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


def identify(attempt: Attempt, info: StatusInformation | None, *, detail: str = "") -> Result:
    """Decide an attempt from the terminal's last status information (None: it has none)."""
    last = 0 if info is None else info.receipt
    before = attempt.before
    if before is None:
        return Result("ambiguous", detail="the terminal's last receipt was unknown before sending")
    if last is None:
        return Result("ambiguous", detail="the terminal's last status information has no receipt")
    if last == before:
        return Result("not_booked", receipt=last, detail=f"terminal's last receipt is still {last}")
    if info is None:
        return Result(
            "ambiguous", detail=f"the terminal has no transaction, we knew receipt {before}"
        )
    amount = info.amount
    if last == next_receipt(before) and (attempt.amount is None or amount == attempt.amount):
        return Result(
            "booked",
            result_code=info.result_code or 0,
            receipt=last,
            trace=info.trace,
            terminal_id=info.terminal_id,
            amount=amount,
            detail=detail,
        )
    return Result(
        "ambiguous",
        receipt=last,
        amount=amount,
        detail=(
            f"expected receipt {before} (nothing booked) or {next_receipt(before)} for "
            f"{attempt.amount}, the terminal's last is {last} for {amount}"
        ),
    )


class Book:
    """Reads and writes the book through a channel context (compare-and-set)."""

    def __init__(self, ctx: ChannelContext) -> None:
        self.ctx = ctx

    def load(self) -> BookState:
        entry = self.ctx.state_get(STATE_KEY)
        if entry is None:
            return BookState()
        return BookState.from_json(entry.value, entry.version)

    def try_save(self, state: BookState) -> bool:
        """Write if nobody wrote since ``state`` was read (compare-and-set on its version)."""
        if not self.ctx.state_put(STATE_KEY, state.to_json(), expected_version=state.version):
            return False
        state.version += 1
        return True

    def save(self, state: BookState) -> None:
        if not self.try_save(state):
            raise NotSentError(
                "the terminal book changed under us (another process without the terminal "
                "lock?); nothing was sent"
            )

    @staticmethod
    def _answer_key(kind: str, record_id: str, attempt: int) -> str:
        return f"zvt.answer.{kind}.{record_id}.{attempt}"

    def answer(self, kind: str, record_id: str, attempt: int) -> Result | None:
        entry = self.ctx.state_get(self._answer_key(kind, record_id, attempt))
        return None if entry is None else Result.from_json(entry.value)

    def put_answer(self, done: Attempt) -> None:
        assert done.result is not None
        key = self._answer_key(done.kind, done.id, done.attempt)
        self.ctx.state_put(key, done.result.to_json(), expected_version=0)

    def now(self) -> str:
        stamp: datetime = self.ctx.clock.now()
        return stamp.isoformat()
