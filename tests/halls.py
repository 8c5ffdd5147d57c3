"""A hall: one simulated terminal and a Collector paying through one of its fronts.

Shared by the ZVT, cloud (nexo) and MIS-POS tests: payments with fresh keys, the same payment
sent again, the status and the terminal's own count of charges, and ``recover()`` repeated
until the record settles (terminals reboot, clouds wait).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from paychannels import Collector, Money, PaymentRequest, Record, Status
from paychannels.simulators.terminal import Script, TerminalSimulator

__all__ = ["SimHall"]

_keys = itertools.count(1)


@dataclass
class SimHall:
    """The simulator and the Collector; subclasses name the channel (``CHANNEL``)."""

    CHANNEL: ClassVar[str]
    sim: TerminalSimulator
    col: Collector

    def script(self, **fields: object) -> None:
        """Queue a script for the next transaction (``faults`` as a set of names)."""
        faults = frozenset(fields.pop("faults", ()))  # type: ignore[call-overload]
        self.sim.terminal.scripts.push(Script(faults=faults, **fields))  # type: ignore[arg-type]

    def request(self, amount: str = "380.00", *, key: str | None = None) -> PaymentRequest:
        n = next(_keys)
        return PaymentRequest(
            payer_id=f"15042219900101{n:04d}",
            amount=Money(amount, "CNY"),
            reference=f"2026-{n}",
            idempotency_key=key or f"{self.CHANNEL}-{n}",
            payer_name="张三",
        )

    def pay(self, amount: str = "380.00", *, key: str | None = None) -> Record:
        return self.col.collect(self.request(amount, key=key), channel=self.CHANNEL)

    def retry(self, record: Record) -> Record:
        """The backend sends the same request again (same idempotency key)."""
        return self.col.collect(record.request(), channel=self.CHANNEL)

    def status(self, record: Record) -> Status:
        return self.col.status(record.id).status

    def charges(self, record: Record) -> int:
        return self.sim.terminal.journal.charges(tag=record.id)

    def recover_until(
        self, record: Record, done: Callable[[Status], bool], seconds: float = 8
    ) -> Status:
        """Run recover() until the record's status satisfies ``done`` (terminals reboot)."""
        end = time.monotonic() + seconds
        while True:
            self.col.recover()
            status = self.status(record)
            if done(status) or time.monotonic() > end:
                return status
            time.sleep(0.2)
