"""A cloud terminal's settlement report: the acquirer's list of a day's settled payments.

A cloud POS has no end-of-day on its API; what it took is told by the acquirer's
settlement details report, a CSV file per day with one row per booking (Adyen's
"Settlement details report"). Rows of type ``Settled`` are payments, named by the merchant
reference we gave (``SaleTransactionID``: our payment id); ``Refunded`` rows are refunds,
named by the modification's merchant reference (our refund id); a payment keyed on the
terminal itself has no merchant reference and is named ``psp:<its PSP reference>``, so
reconciliation shows it as money the journal does not know. Other types (fees, payouts)
are counted and left out. The rows become a ``ProviderBill`` and so the channel's
settlement figures for the day, compared line by line with the journal.

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

__all__ = ["COLUMNS", "SKIPPED_TYPES", "read_settlement_report", "report_name"]

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
SKIPPED_TYPES = frozenset({"Fee", "MerchantPayout", "DepositCorrection", "Balancetransfer"})
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
    lines: list[BillLine] = []
    currencies: set[str] = set()
    skipped: Counter[str] = Counter()
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < len(rows[0]):
            raise BillError(f"{source} line {number}: {len(row)} columns, the header has more")
        kind = _TAKEN.get(row[at["Type"]])
        if kind is None:
            skipped[row[at["Type"]][:32] or "(no type)"] += 1
            continue
        currencies.add(row[at["Gross Currency"]])
        lines.append(_line(row, at, kind, f"{source} line {number}"))
    if len(currencies) > 1:
        raise BillError(f"{source}: more than one currency ({', '.join(sorted(currencies))})")
    currency = currencies.pop() if currencies else "CNY"
    note = "; ".join(f"{n} {kind} row(s) left out" for kind, n in sorted(skipped.items()))
    return ProviderBill(
        "nexo", day, currency, tuple(lines), source + (f" ({note})" if note else "")
    )


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
