"""A cloud terminal's settlement report: the acquirer's list of a day's settled payments.

A cloud POS has no end-of-day on its API; what it took is told by the acquirer's
settlement details report, a CSV file per day with one row per booking (Adyen's
"Settlement details report"). Rows of type ``Settled`` are payments, named by the merchant
reference we gave (``SaleTransactionID``: our payment id); ``Refunded`` rows are refunds,
named by the modification's merchant reference (our refund id); a payment keyed on the
terminal itself has no merchant reference and is named ``psp:<its PSP reference>``, so
reconciliation shows it as money the journal does not know. The rows become a
``ProviderBill`` and so the channel's settlement figures for the day, compared line by line
with the journal.

**Fees.** Where the report has the net columns, what the acquirer keeps is read too: on a
``Settled`` row the gross less the net (its MDR, 手续费: ``Commission``, ``Markup``,
``Scheme Fees``, ``Interchange`` — each row's must add up to it where the columns are
there), less what a ``Refunded`` row gives back, plus every ``Fee`` row's net debit. They
travel with the bill (``fee_minor``), so the arrival expected in the account is the net
less them. Other types (payouts, corrections) are counted and left out.

Only the columns reconciliation needs are read, by name, wherever they stand; a file
without them, or a row that cannot be read, is refused whole with its line and column.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence
from datetime import date

from paychannels.providers.bills import MAX_BILL_BYTES, BillError, BillLine, ProviderBill
from paychannels.providers.bills import yuan_minor as minor_of

__all__ = [
    "COLUMNS",
    "FEE_PARTS",
    "NET_COLUMNS",
    "SKIPPED_TYPES",
    "read_settlement_report",
    "report_name",
]

#: the columns read (names as in the report's header line)
COLUMNS = (
    "Merchant Reference",
    "Modification Merchant Reference",
    "Psp Reference",
    "Creation Date",
    "Type",
    "Gross Currency",
    "Gross Debit (GC)",
    "Gross Credit (GC)",
)
#: row types that are not a payer's money (kept out of the figures, counted)
SKIPPED_TYPES = frozenset({"MerchantPayout", "DepositCorrection", "Balancetransfer"})
#: the net columns: with them, the acquirer's fees are read (all three or none)
NET_COLUMNS = ("Net Currency", "Net Debit (NC)", "Net Credit (NC)")
#: the parts of a row's fee, where the report breaks it down
FEE_PARTS = ("Commission (NC)", "Markup (NC)", "Scheme Fees (NC)", "Interchange (NC)")
_TAKEN = {"Settled": "payment", "Refunded": "refund"}


def report_name(day: date) -> str:
    """The file name of a day's report (``settlement_detail_report_2026_11_26.csv``)."""
    return f"settlement_detail_report_{day:%Y_%m_%d}.csv"


def read_settlement_report(raw: bytes, *, day: date, source: str) -> ProviderBill:
    """Read a day's report; ``BillError`` naming the line and column of what is wrong."""
    if len(raw) > MAX_BILL_BYTES:
        raise BillError(f"{source}: {len(raw)} bytes, more than {MAX_BILL_BYTES}; refused")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BillError(f"{source}: not UTF-8 text (byte {exc.start})") from None
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise BillError(f"{source}: not CSV ({exc})") from None
    if not rows:
        raise BillError(f"{source}: empty; a report has at least its header line")
    at = _columns(rows[0], source)
    fees = _Fees.of(rows[0])
    lines: list[BillLine] = []
    currencies: set[str] = set()
    skipped: Counter[str] = Counter()
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < len(rows[0]):
            raise BillError(f"{source} line {number}: {len(row)} columns, the header has more")
        kind, where = _TAKEN.get(row[at["Type"]]), f"{source} line {number}"
        if kind is not None:
            currencies.add(row[at["Gross Currency"]])
            lines.append(_line(row, at, kind, where))
        elif row[at["Type"]] != "Fee" or fees is None:
            skipped[row[at["Type"]][:32] or "(no type)"] += 1
            continue
        if fees is not None:
            fees.add(row, row[at["Type"]], row[at["Gross Currency"]], where)
    if len(currencies) > 1:
        raise BillError(f"{source}: more than one currency ({', '.join(sorted(currencies))})")
    currency = currencies.pop() if currencies else "CNY"
    note = "; ".join(f"{n} {kind} row(s) left out" for kind, n in sorted(skipped.items()))
    return ProviderBill(
        "nexo",
        day,
        currency,
        tuple(lines),
        source + (f" ({note})" if note else ""),
        fee_minor=fees.minor if fees is not None else 0,
    )


class _Fees:
    """The acquirer's fees of the day, added up row by row from the net columns."""

    def __init__(self, at: dict[str, int]) -> None:
        self.at = at
        self.minor = 0

    @classmethod
    def of(cls, header: Sequence[str]) -> _Fees | None:
        """Fees are read when the report has the net columns; else it states none."""
        names = [name.strip() for name in header]
        if not all(name in names for name in NET_COLUMNS):
            return None
        wanted = (*NET_COLUMNS, *FEE_PARTS, "Gross Debit (GC)", "Gross Credit (GC)")
        return cls({name: names.index(name) for name in wanted if name in names})

    def add(self, row: Sequence[str], kind: str, currency: str, where: str) -> None:
        """One row's fee: a payment's gross less net, a refund's given back, a Fee row's."""
        if row[self.at["Net Currency"]].strip() not in ("", currency):
            raise BillError(f"{where}, column 'Net Currency': not the gross currency {currency!r}")
        debit, credit = (self._amount(row, c, where) for c in ("Net Debit (NC)", "Net Credit (NC)"))
        if kind == "Fee":
            self.minor += debit - credit
            return
        if kind == "Settled":
            fee = self._amount(row, "Gross Credit (GC)", where) - credit
        else:
            fee = self._amount(row, "Gross Debit (GC)", where) - debit
        parts = [self._amount(row, name, where) for name in FEE_PARTS if name in self.at]
        if parts and sum(parts) != fee:
            raise BillError(
                f"{where}, column {FEE_PARTS[0]!r}: the fees stated add up to {sum(parts)} fen, "
                f"gross less net is {fee}"
            )
        self.minor += fee if kind == "Settled" else -fee

    def _amount(self, row: Sequence[str], column: str, where: str) -> int:
        text = row[self.at[column]].strip()
        return minor_of(text, where=f"{where}, column {column!r}") if text else 0


def _columns(header: Sequence[str], source: str) -> dict[str, int]:
    names = [name.strip() for name in header]
    missing = [name for name in COLUMNS if name not in names]
    if missing:
        raise BillError(f"{source} line 1: no column {', '.join(repr(m) for m in missing)}")
    return {name: names.index(name) for name in COLUMNS}


def _line(row: Sequence[str], at: dict[str, int], kind: str, where: str) -> BillLine:
    if kind == "payment":
        record_id, amount_column = row[at["Merchant Reference"]], "Gross Credit (GC)"
        id_column = "Merchant Reference"
    else:
        record_id, amount_column = row[at["Modification Merchant Reference"]], "Gross Debit (GC)"
        id_column = "Modification Merchant Reference"
    psp = row[at["Psp Reference"]].strip()[:64]
    if not record_id.strip():  # keyed on the terminal, not asked by us: money we must see
        if kind == "refund" or not psp:
            raise BillError(f"{where}, column {id_column!r}: empty; whose money is it?")
        record_id = f"psp:{psp}"
    minor = minor_of(row[at[amount_column]].strip(), where=f"{where}, column {amount_column!r}")
    if minor <= 0:
        raise BillError(f"{where}, column {amount_column!r}: {minor} is not a positive amount")
    return BillLine(
        record_id=record_id.strip()[:64],
        kind="payment" if kind == "payment" else "refund",
        minor=minor,
        ref=psp,
        at=row[at["Creation Date"]].strip()[:32],
    )
