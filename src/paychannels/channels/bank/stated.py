"""A result file's own figures: what the bank says it settled, refused and returned.

Counted while the file is read, independently of what the journal makes of each row, and
recorded as the file's settlement (``paychannels.channels.settlement``): reconciliation compares
what banks say they hold with what the journal holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from pydantic import JsonValue

from paychannels.channels.settlement import Settlement, SettlementKind
from paychannels.values.results import ReportSummary, ResultRow
from paychannels.values.status import Status

__all__ = ["StatedTotals"]

_KIND = {Status.SUCCEEDED: "settled", Status.DECLINED: "failed", Status.REVERSED: "returned"}


class StatedTotals:
    """What a result file itself says, counted while it is read (the bank's own figures)."""

    def __init__(self) -> None:
        self.count: dict[str, int] = {}
        self.minor: dict[str, int] = {}
        self.currency: str | None = None
        self.foreign = 0

    def add(self, row: ResultRow) -> None:
        """Count one row by what the bank says happened to it."""
        kind = _KIND.get(row.status, "pending")
        self.count[kind] = self.count.get(kind, 0) + 1
        amount = row.taken_minor if kind == "settled" else row.amount_minor
        self.minor[kind] = self.minor.get(kind, 0) + (amount or 0)
        self.currency = self.currency or row.currency

    def settlement(
        self,
        sha256: str,
        name: str,
        at: datetime,
        applied: ReportSummary,
        refs: Sequence[str] = (),
    ) -> Settlement:
        """The file's figures as a settlement: settled less returned is what the bank holds.

        ``refs``: the request files' message ids it answers, which the bank's credits to the
        collection account carry (arrival matching by reference)."""
        settled, returned = self.minor.get("settled", 0), self.minor.get("returned", 0)
        return Settlement(
            kind=SettlementKind.BANK,
            key=sha256,
            source=f"result file {name}",
            currency=self.currency or "CNY",
            recorded_at=at,
            net_minor=settled - returned,
            payments=self.count.get("settled", 0),
            gross_minor=settled,
            refunds=self.count.get("returned", 0),
            refund_minor=returned,
            detail={
                "failed": self.count.get("failed", 0),
                "failed_minor": self.minor.get("failed", 0),
                "pending": self.count.get("pending", 0),
                "not_ours": self.foreign,
                "applied": cast("JsonValue", applied.as_dict()),
                "refs": list(refs),
            },
        )
