"""The simulated acquirer's settlement report for the cloud terminal: a day's CSV.

Built from the terminal's own journal, so it says exactly what the terminal took: one
``Settled`` row per approved payment not reversed, one ``Refunded`` row per approved
refund. The acquirer's commission (0.6 %, rounded down to the fen) is in each row's
``Commission (NC)`` and taken from its net; a refund gives it back. Times and the day are
Beijing's. What ``paychannels.drivers.nexo.report`` reads.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

from paychannels.runtime.clock import BEIJING
from paychannels.simulators.terminal.core import SimTerminal
from paychannels.simulators.terminal.journal import SimTxn
from paychannels.values.money import Money

__all__ = ["HEADER", "settlement_report"]

HEADER = (
    "Company Account",
    "Merchant Account",
    "Psp Reference",
    "Merchant Reference",
    "Payment Method",
    "Creation Date",
    "TimeZone",
    "Type",
    "Modification Reference",
    "Gross Currency",
    "Gross Debit (GC)",
    "Gross Credit (GC)",
    "Net Currency",
    "Net Debit (NC)",
    "Net Credit (NC)",
    "Commission (NC)",
    "Batch Number",
    "Modification Merchant Reference",
)
_FEE_PER_MILLE = 6  # the acquirer's commission: 0.6 %


def _moment(txn: SimTxn) -> datetime:
    # the terminal's clock is naive local time; astimezone reads it as such
    return datetime.fromisoformat(txn.at).astimezone(BEIJING)


def _psp(terminal: SimTerminal, txn: SimTxn) -> str:
    return f"88{terminal.terminal_id:08d}{txn.trace:06d}"


def settlement_report(terminal: SimTerminal, day: date, *, merchant: str = "CountyHall") -> bytes:
    """The report for ``day`` as the acquirer would serve it (UTF-8 CSV)."""
    code = terminal.currency.code
    txns = [t for t in terminal.journal.txns if t.approved and _moment(t).date() == day]
    by_receipt = {t.receipt: t for t in terminal.journal.txns if t.kind == "payment"}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for t in txns:
        amount = str(Money.of_minor(t.amount, code).amount)
        fee = t.amount * _FEE_PER_MILLE // 1000
        if t.kind == "payment" and not t.reversed:
            kind, ours, theirs, debit, credit = "Settled", t.tag or "", "", "", amount
        elif t.kind == "refund":
            original = by_receipt.get(t.original_receipt or -1)
            kind, ours, theirs = "Refunded", (original.tag if original else "") or "", t.tag or ""
            debit, credit = amount, ""
        else:
            continue  # a reversal: the voided payment never settled
        net = str(Money.of_minor(t.amount - fee, code).amount)
        writer.writerow(
            (
                "PaychannelsCounty",
                merchant,
                _psp(terminal, t),
                ours,
                "unionpay",
                _moment(t).strftime("%Y-%m-%d %H:%M:%S"),
                "CST",
                kind,
                _psp(terminal, t) if kind == "Refunded" else "",
                code,
                debit,
                credit,
                code,
                net if debit else "",
                net if credit else "",
                str(Money.of_minor(fee, code).amount),
                str(t.batch),
                theirs,
            )
        )
    return out.getvalue().encode("utf-8")
