"""Scripting the simulated terminal: what the cardholder and the bank do, and which faults strike.

A ``Script`` decides one transaction: its outcome (approve, decline with a result code,
insufficient funds, PIN time-out, cardholder abort), how slow the cardholder is, and
which faults the front end injects. Scripts are queued for the next transactions
(``ScriptBook.push``) or chosen by rules on the kind and amount (``Rule``); with neither,
the default applies. Faults are named by what a test or a field rehearsal wants to see;
front ends interpret them for their transport (see each fault's note in ``FAULTS``).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import asdict, dataclass, field, replace
from typing import Any

__all__ = ["FAULTS", "OUTCOMES", "Rule", "Script", "ScriptBook"]

#: outcome -> what the terminal does
OUTCOMES: dict[str, str] = {
    "approve": "the bank approves",
    "decline": "the bank declines with result_code (default 05, do not honour)",
    "insufficient_funds": "the bank declines: insufficient funds (result code 51)",
    "pin_timeout": "the cardholder never enters the PIN (abort 6C at the PIN prompt, booked)",
    "cardholder_abort": "the cardholder presses abort at the card prompt (6C, nothing booked)",
}

#: fault -> what it does (front ends apply those that make sense on their transport)
FAULTS: dict[str, str] = {
    "lose_request": "the command is received and ignored: no acknowledgement, nothing booked",
    "refuse": "the command is refused with 84 83 (function not possible)",
    "late_ack": "the 80 00 comes fault_delay seconds late (after the ECR's T3)",
    "leftover_completion": "before the 80 00, a Completion left over from an earlier dialogue "
    "(what the ECR sees when a late acknowledgement's dialogue ends after it gave up)",
    "leftover_answer": "MIS-POS: before it answers, the terminal sends its previous booking's "
    "answer again (an earlier request's answer arriving late)",
    "nak": "serial: the command frame is answered NAK once (the ECR resends)",
    "nak_always": "serial: every transmission of the command frame is answered NAK",
    "drop_frame": "the status information's first transmission is lost (serial: resent after "
    "T2; TCP: never arrives)",
    "corrupt_frame": "the status information's first transmission is corrupted (serial: wrong "
    "CRC, NAKed and resent; TCP: garbled bytes)",
    "garble_reply": "the status information carries a BMP whose length runs past the end",
    "unknown_apdu": "an APDU of an unknown kind arrives before the status information",
    "late_completion": "after booking, the answer waits fault_delay seconds (past the ECR's T4)",
    "disconnect_after_approval": "after booking, the link drops before the status information",
    "power_cycle": "the terminal loses power after the first status, before booking "
    "(off for off_for seconds; registration lost)",
    "power_cycle_after_booking": "the terminal loses power after booking, before answering",
    "cloud_error": "cloud: HTTP 500 without handing the request to the terminal (nothing booked)",
    "cloud_error_after_approval": "cloud: the terminal books, then the cloud answers HTTP 502",
    "duplicate_notification": "cloud, async: the result notification is delivered twice",
    "late_notification": "cloud, async: the result notification comes fault_delay seconds late",
    "drop_notification": "cloud, async: no result notification at all (only asking tells)",
}


@dataclass(frozen=True)
class Script:
    """How one transaction goes."""

    outcome: str = "approve"
    result_code: int | None = None
    faults: frozenset[str] = frozenset()
    card_delay: float = 0.0
    pin_delay: float = 0.0
    host_delay: float = 0.0
    fault_delay: float = 2.0
    off_for: float = 1.0
    card: str | None = None

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {self.outcome!r}; known: {', '.join(OUTCOMES)}")
        unknown = set(self.faults) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown fault(s) {sorted(unknown)}; known: {', '.join(FAULTS)}")
        if self.card is not None and not (self.card.isdigit() and 12 <= len(self.card) <= 19):
            raise ValueError("card must be 12 to 19 digits")
        for name in ("card_delay", "pin_delay", "host_delay", "fault_delay", "off_for"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")

    def has(self, fault: str) -> bool:
        """Whether the script injects ``fault``."""
        return fault in self.faults

    @property
    def code(self) -> int:
        """The result code the outcome ends with (0 for approve)."""
        match self.outcome:
            case "approve":
                return 0
            case "decline":
                return 0x05 if self.result_code is None else self.result_code
            case "insufficient_funds":
                return 51
            case _:
                return 0x6C

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Script:
        """From the control API's JSON (``faults`` a list; ``result_code`` an int or hex)."""
        known = {f for f in cls.__dataclass_fields__}
        extra = set(raw) - known
        if extra:
            raise ValueError(f"unknown script field(s) {sorted(extra)}; known: {sorted(known)}")
        values = dict(raw)
        if "faults" in values:
            values["faults"] = frozenset(values["faults"])
        code = values.get("result_code")
        if isinstance(code, str):
            values["result_code"] = int(code, 16)
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["faults"] = sorted(self.faults)
        return out


@dataclass(frozen=True)
class Rule:
    """Use ``script`` for transactions of ``kind`` (any if None) within an amount range."""

    script: Script
    kind: str | None = None
    min_amount: int | None = None
    max_amount: int | None = None

    def matches(self, kind: str, amount: int | None) -> bool:
        if self.kind is not None and self.kind != kind:
            return False
        if amount is None:
            return self.min_amount is None and self.max_amount is None
        low = self.min_amount if self.min_amount is not None else amount
        high = self.max_amount if self.max_amount is not None else amount
        return low <= amount <= high


@dataclass
class ScriptBook:
    """Queued scripts first, then rules, then the default."""

    default: Script = field(default_factory=Script)
    rules: list[Rule] = field(default_factory=list)
    _queue: deque[Script] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def push(self, *scripts: Script) -> None:
        """Queue scripts for the next transactions, in order."""
        with self._lock:
            self._queue.extend(scripts)

    def clear(self) -> None:
        """Drop queued scripts and rules."""
        with self._lock:
            self._queue.clear()
            self.rules.clear()

    def peek(self, kind: str, amount: int | None) -> Script:
        """The script the next transaction would get, without using it up."""
        with self._lock:
            return self._choose(kind, amount, take=False)

    def take(self, kind: str, amount: int | None) -> Script:
        """The script for a transaction that starts now."""
        with self._lock:
            return self._choose(kind, amount, take=True)

    def _choose(self, kind: str, amount: int | None, *, take: bool) -> Script:
        if self._queue:
            return self._queue.popleft() if take else self._queue[0]
        for rule in self.rules:
            if rule.matches(kind, amount):
                return rule.script
        return self.default

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [s.to_json() for s in self._queue]

    def with_default(self, **changes: Any) -> None:
        self.default = replace(self.default, **changes)
