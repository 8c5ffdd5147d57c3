"""The simulated terminal's own journal: every transaction with its receipt and trace number.

This is the simulator's truth, what tests compare the library's journal with: which
payments were booked, approved, reversed, refunded, and the day's totals. Receipt numbers
run 0001..9999 and wrap; trace numbers 000001..999999. Every transaction that reached the
bank gets both (declines too); an abort before the card was read gets neither. With a path
the journal survives restarts (written atomically after every booking).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["SimJournal", "SimTxn"]


@dataclass
class SimTxn:
    """One booked transaction."""

    kind: str  # payment | refund | reversal
    amount: int
    currency: int
    result_code: int
    receipt: int
    trace: int
    card: str
    at: str
    batch: int
    tag: str | None = None
    reversed: bool = False
    reversed_implicitly: bool = False
    original_receipt: int | None = None

    @property
    def approved(self) -> bool:
        return self.result_code == 0


@dataclass
class SimJournal:
    """Transactions in order, counters and the open batch; thread-safe."""

    path: Path | None = None
    txns: list[SimTxn] = field(default_factory=list)
    last_receipt: int = 0
    last_trace: int = 0
    batch: int = 1
    #: called with each transaction right after it is booked or reversed (and saved): the
    #: adversarial tests kill the ECR's process at the moment the terminal wrote its truth
    watchers: list[Callable[[SimTxn], None]] = field(default_factory=list)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    @classmethod
    def open(cls, path: str | Path | None, *, first_receipt: int = 0) -> SimJournal:
        """A journal kept in ``path`` (loaded if it exists), or in memory."""
        journal = cls(Path(path) if path else None, last_receipt=first_receipt)
        if journal.path is not None and journal.path.exists():
            raw = json.loads(journal.path.read_text(encoding="utf-8"))
            journal.txns = [SimTxn(**t) for t in raw["txns"]]
            journal.last_receipt, journal.last_trace = raw["last_receipt"], raw["last_trace"]
            journal.batch = raw["batch"]
        return journal

    def next_trace(self) -> int:
        with self._lock:
            self.last_trace = self.last_trace % 999999 + 1
            return self.last_trace

    def book(self, **values: Any) -> SimTxn:
        """Book a transaction, assigning the next receipt and trace numbers."""
        with self._lock:
            self.last_receipt = self.last_receipt % 9999 + 1
            txn = SimTxn(
                receipt=self.last_receipt, trace=self.next_trace(), batch=self.batch, **values
            )
            self.txns.append(txn)
            self._save()
            self._wrote(txn)
            return txn

    def last(self) -> SimTxn | None:
        """The most recent transaction (what Repeat Receipt repeats)."""
        with self._lock:
            return self.txns[-1] if self.txns else None

    def find(self, receipt: int) -> SimTxn | None:
        """The transaction with a receipt number in the open batch (reversals need it)."""
        with self._lock:
            return next(
                (t for t in reversed(self.txns) if t.receipt == receipt and t.batch == self.batch),
                None,
            )

    def by_trace(self, trace: int) -> SimTxn | None:
        """The transaction with a trace number (unique until 999999 wraps), in any batch."""
        with self._lock:
            return next((t for t in reversed(self.txns) if t.trace == trace), None)

    def refunded(self, receipt: int, batch: int) -> int:
        """Minor units refunded (approved refunds) against the payment ``receipt`` of ``batch``."""
        with self._lock:
            original = next(
                (t for t in self.txns if t.receipt == receipt and t.batch == batch), None
            )
            if original is None:
                return 0
            start = self.txns.index(original)
            return sum(
                t.amount
                for t in self.txns[start + 1 :]
                if t.kind == "refund" and t.approved and t.original_receipt == receipt
            )

    def mark_reversed(self, txn: SimTxn, *, implicitly: bool = False) -> None:
        with self._lock:
            txn.reversed = True
            txn.reversed_implicitly = implicitly
            self._save()
            self._wrote(txn)

    def batch_txns(self) -> list[SimTxn]:
        with self._lock:
            return [t for t in self.txns if t.batch == self.batch]

    def close_batch(self) -> list[SimTxn]:
        """End the day: return the batch's transactions and open the next batch."""
        with self._lock:
            closed = self.batch_txns()
            self.batch += 1
            self._save()
            return closed

    def charges(self, *, tag: str | None = None, amount: int | None = None) -> int:
        """Approved, unreversed payments (by tag or amount): how often money was taken."""
        with self._lock:
            return sum(
                1
                for t in self.txns
                if t.kind == "payment"
                and t.approved
                and not t.reversed
                and (tag is None or t.tag == tag)
                and (amount is None or t.amount == amount)
            )

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "txns": [asdict(t) for t in self.txns],
                "last_receipt": self.last_receipt,
                "last_trace": self.last_trace,
                "batch": self.batch,
            }

    def _wrote(self, txn: SimTxn) -> None:
        for watcher in list(self.watchers):
            watcher(txn)

    def _save(self) -> None:
        if self.path is None:
            return
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_json(), ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, self.path)
