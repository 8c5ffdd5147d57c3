"""The echo device: a payment terminal living in this process, with its own ledger.

It speaks one line per exchange (``op=pay key=… amount=… currency=…`` in, ``result=…`` out),
and can be scripted to misbehave the way real terminals do: decline, refuse the connection,
lose the request, take the money and lose the answer, or answer garbage. Its ledger is the
truth a contract test judges the channel by.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from dataclasses import dataclass
from typing import ClassVar

__all__ = ["BEHAVIOURS", "Booking", "EchoDevice"]

#: what the device can be told to do with the next payment or refund
BEHAVIOURS = frozenset(
    {
        "approve",
        "decline",
        "insufficient_funds",
        "refuse",
        "lose_request",
        "lose_reply",
        "garble_reply",
    }
)
#: the card the echo device "reads": it answers with the full number, so the driver must mask it
CARD = "6222021234567890123"
_CODES = {"decline": "05", "insufficient_funds": "51"}


@dataclass(frozen=True, slots=True)
class Booking:
    """One line of the device's ledger: a payment, refund or reversal it decided."""

    key: str
    op: str
    amount_minor: int
    currency: str
    approved: bool
    code: str
    ref: str
    parent: str = ""


class EchoDevice:
    """A scriptable terminal with a ledger; devices are found by name, as ``echo://<name>``."""

    _devices: ClassVar[dict[str, EchoDevice]] = {}
    _devices_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, name: str) -> None:
        self.name = name
        self.ledger: list[Booking] = []
        self._script: deque[str] = deque()
        self._refs = itertools.count(1)
        self._lock = threading.Lock()

    @classmethod
    def named(cls, name: str) -> EchoDevice:
        """The device called ``name`` in this process (switched on at first use)."""
        with cls._devices_lock:
            return cls._devices.setdefault(name, cls(name))

    @classmethod
    def forget(cls, name: str) -> None:
        """Switch the device called ``name`` off; its ledger is gone."""
        with cls._devices_lock:
            cls._devices.pop(name, None)

    def script(self, behaviour: str) -> None:
        """Do ``behaviour`` with the next payment or refund (then approve again)."""
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"the echo device cannot {behaviour!r}; it can {sorted(BEHAVIOURS)}")
        with self._lock:
            self._script.append(behaviour)

    def exchange(self, line: str) -> str | None:
        """One request line in, one answer line out; None when the answer never comes.

        Raises ``ConnectionRefusedError`` before reading anything when scripted to refuse.
        """
        fields = dict(part.split("=", 1) for part in line.split())
        op = fields.get("op", "")
        if op in ("pay", "refund"):
            return self._book(op, fields)
        if op == "query":
            return self._answer(self._latest(fields["key"]))
        if op == "reverse":
            return self._reverse(fields["key"])
        return f"result=error code=30 message=unknown-op-{op}"

    def charges(self, key: str) -> int:
        """How many times this device took money for payment ``key`` and kept it (not reversed)."""
        with self._lock:
            mine = [b for b in self.ledger if b.key == key and b.approved]
        return sum(b.op == "pay" for b in mine) - sum(b.op == "reverse" for b in mine)

    def refunded_minor(self, key: str) -> int:
        """How much this device gave back for payment ``key``, in minor units."""
        with self._lock:
            return sum(
                b.amount_minor
                for b in self.ledger
                if b.parent == key and b.op == "refund" and b.approved
            )

    def _next(self) -> str:
        with self._lock:
            return self._script.popleft() if self._script else "approve"

    def _book(self, op: str, fields: dict[str, str]) -> str | None:
        behaviour = self._next()
        if behaviour == "refuse":
            raise ConnectionRefusedError(f"echo device {self.name} refused the connection")
        if behaviour == "lose_request":
            return None
        amount = int(fields["amount"])
        parent = fields.get("parent", "")
        code = _CODES.get(behaviour, "00")
        if op == "refund" and code == "00" and amount > self._refundable(parent):
            code = "13"
        booking = Booking(
            key=fields["key"],
            op=op,
            amount_minor=amount,
            currency=fields["currency"],
            approved=code == "00",
            code=code,
            ref=f"echo-{next(self._refs):06d}",
            parent=parent,
        )
        with self._lock:
            self.ledger.append(booking)
        if behaviour == "lose_reply":
            return None
        if behaviour == "garble_reply":
            return "\x02\xff\x13"
        return self._answer(booking)

    def _refundable(self, key: str) -> int:
        paid = self._latest(key)
        if paid is None or paid.op != "pay" or not paid.approved:
            return 0
        return paid.amount_minor - self.refunded_minor(key)

    def _reverse(self, key: str) -> str:
        paid = self._latest(key)
        if paid is None or paid.op not in ("pay", "reverse") or not paid.approved:
            return "result=declined code=12"
        reversal = Booking(key, "reverse", paid.amount_minor, paid.currency, True, "00", paid.ref)
        if paid.op == "reverse":  # reversed already: answer again, book nothing
            return self._answer(paid)
        with self._lock:
            self.ledger.append(reversal)
        return self._answer(reversal)

    def _latest(self, key: str) -> Booking | None:
        with self._lock:
            return next((b for b in reversed(self.ledger) if b.key == key), None)

    @staticmethod
    def _answer(booking: Booking | None) -> str:
        if booking is None:
            return "result=none"
        result = {"reverse": "reversed"}.get(booking.op, "approved")
        if not booking.approved:
            result = "declined"
        return (
            f"result={result} code={booking.code} ref={booking.ref} "
            f"amount={booking.amount_minor} currency={booking.currency} pan={CARD}"
        )
