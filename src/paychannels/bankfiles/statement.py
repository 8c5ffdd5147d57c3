"""What an account statement says: its head (account, period, balances) and its bookings.

The collection account's statement is the last word on money: a channel may say it settled,
but only a credit on this account means the money arrived. Readers (camt.053, the Chinese
banks' text exports) yield a ``StatementHead`` and then its ``StatementLine``s, in file order;
amounts are integer minor units, signed by ``credit``. A line names its place in the file
(``line``) and every reference the bank carried, so a difference can point at it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from paychannels.bankfiles.errors import BankFileError

__all__ = ["StatementError", "StatementHead", "StatementLine"]


class StatementError(BankFileError):
    """A statement that cannot be taken as it stands (another account, a gap, a duplicate)."""


@dataclass(frozen=True, slots=True)
class StatementHead:
    """One statement: whose account, which days, the balances it opens and closes with.

    ``opening_minor``/``closing_minor`` are booked balances (camt ``OPBD``/``CLBD``), signed
    (a debit balance is negative); None when the file does not state one.
    """

    file: str
    statement_id: str
    account: str
    currency: str
    from_day: date | None
    to_day: date | None
    opening_minor: int | None
    closing_minor: int | None
    sequence: str = ""
    line: int = 0


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One booking: a credit (money in) or a debit, on ``booked`` (value date ``value``).

    ``refs`` are every reference the bank carried (its own, end-to-end ids, batch and message
    ids, remittance text), for matching; ``text`` is what a person reads.
    """

    file: str
    line: int
    statement_id: str
    credit: bool
    minor: int
    currency: str
    booked: date
    value: date | None = None
    refs: tuple[str, ...] = ()
    text: str = ""
    bank_ref: str = ""
    status: str = "BOOK"

    @property
    def signed_minor(self) -> int:
        """Plus for a credit, minus for a debit."""
        return self.minor if self.credit else -self.minor

    @property
    def where(self) -> str:
        """Where a person finds it: ``file line N``."""
        return f"{self.file} line {self.line}"
