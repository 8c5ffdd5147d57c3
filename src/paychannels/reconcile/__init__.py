"""Reconciliation: what each payer owed against what every channel took, and the proof.

``reconcile(journal, roster)`` reads the roster (``docs/roster.md``) and the journal (lean,
from one snapshot), puts every obligation in a ``Category`` (paid, unpaid, partly paid,
overpaid, paid twice, amount mismatch, in doubt; not in roster for money nobody owed),
checks each channel's own settlement figures (terminal end of day, provider bills, bank
result files) against the journal, and adds up the money per township, period, channel and
collecting operator. ``write_outputs`` writes the CSV files and the HTML report.
See docs/reconciliation.md.
"""

from __future__ import annotations

from paychannels.reconcile.model import (
    Category,
    ChannelCheck,
    Concern,
    GroupTotals,
    OperatorTotals,
    StatementCheck,
)
from paychannels.reconcile.result import DetailRow, Reconciliation
from paychannels.reconcile.run import reconcile

__all__ = [
    "Category",
    "ChannelCheck",
    "Concern",
    "DetailRow",
    "GroupTotals",
    "OperatorTotals",
    "Reconciliation",
    "StatementCheck",
    "reconcile",
]
