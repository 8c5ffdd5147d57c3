"""What a result file says, format by format, before it is matched to payments.

Readers (pain.002, camt.054, the text layouts) yield these items in file order; the bank
channel turns them into journal rows. ``TxResult.outcome`` is the reader's reading of the
bank's code: ``succeeded`` (money taken, perhaps partly), ``failed``, ``returned`` (taken,
then given back), ``pending`` (accepted, not settled) or ``unknown`` (a code we do not know:
kept, and a person must look).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

__all__ = ["BatchBooking", "FileHeader", "Outcome", "Statement", "TxResult"]

Outcome = Literal["succeeded", "failed", "returned", "pending", "unknown"]


@dataclass(slots=True)
class FileHeader:
    """Which request file (message id) a result file answers, and what it says that file
    held: ``count`` debits (pain.002 ``OrgnlNbOfTxs``) summing to ``control_sum`` in major
    units (``OrgnlCtrlSum``, no currency of its own) — checked against what we sent."""

    kind: str
    msg_id: str | None
    original_msg_id: str | None
    count: int | None = None
    sum_minor: int | None = None
    line: int = 0
    control_sum: Decimal | None = None


@dataclass(slots=True)
class Statement:
    """A status for a whole file (``batch_id`` None) or one batch, without per-debit rows;
    ``code`` may be empty when the file only states the batch's ``count``/``control_sum``."""

    original_msg_id: str | None
    batch_id: str | None
    code: str
    outcome: Outcome | Literal["partial"]
    reason: str | None
    info: str | None
    line: int
    count: int | None = None
    control_sum: Decimal | None = None


@dataclass(slots=True)
class TxResult:
    """What became of one debit, named by our reference (end-to-end id or serial)."""

    ref: str
    code: str
    outcome: Outcome
    reason: str | None = None
    info: str | None = None
    requested_minor: int | None = None
    taken_minor: int | None = None
    currency: str | None = None
    batch_id: str | None = None
    original_msg_id: str | None = None
    line: int = 0


@dataclass(slots=True)
class BatchBooking:
    """One booked amount for a whole batch, with no per-debit detail (camt.054 batch booking)."""

    original_msg_id: str | None
    batch_id: str | None
    count: int | None
    sum_minor: int
    currency: str
    outcome: Outcome
    line: int
