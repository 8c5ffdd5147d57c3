"""Bulk reports: what a channel learned about many payments at once (a bank's result file).

A ``Notice`` is a pydantic object, right for one callback; a result file of 300,000 rows needs
something lighter. A channel hands the Collector ``Report``s: each yields ``ResultRow``s
(slotted, unvalidated beyond the obvious) and is applied all-or-nothing — if reading its rows
fails, nothing from it reaches the journal and the channel is told (``rejected``); when all
rows are applied the channel is told too (``applied``), so it can mark the file done.
Applying the same report twice changes nothing: every row goes through the one policy of
``paychannels.collector.resolution`` (in SQL for the common forward moves, in Python for the rest).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from paychannels.values.errors import PaychannelsError
from paychannels.values.reasons import Reason
from paychannels.values.status import Status, reportable_by_channel

__all__ = ["Report", "ReportSummary", "ResultRow"]


_REPORTABLE = frozenset(s for s in Status if reportable_by_channel(s))


@dataclass(slots=True)
class ResultRow:
    """What became of one payment, as one line of a bulk report states it.

    ``taken_minor`` is what was actually taken (partial debits), ``amount_minor`` and
    ``currency`` what the report says was asked for (checked against the journal: a
    mismatch raises attention, credits nothing). ``problem`` flags a row a person must look
    at: an unknown status code changes nothing and raises attention; a refusal (DECLINED or
    REVERSED) with a reason nobody knows is applied and flagged. ``attempt`` is the dispatch
    attempt the row answers, where its reference carries it (a bank end-to-end id): a row
    about an earlier attempt is recorded and never applied to a later one. ``line`` is
    where the row stands in its source (a file's line), so a refusal can point at it.
    """

    payment_id: str
    status: Status
    taken_minor: int | None = None
    amount_minor: int | None = None
    currency: str | None = None
    reason: Reason | None = None
    reason_detail: str | None = None
    channel_ref: str | None = None
    message: str | None = None
    problem: str | None = None
    attempt: int | None = None
    line: int | None = None

    def __post_init__(self) -> None:
        if self.status not in _REPORTABLE:
            raise ValueError(f"a report cannot state {self.status}; the Collector owns it")
        taken, asked = self.taken_minor, self.amount_minor
        if taken is not None:
            if self.status is not Status.SUCCEEDED:
                raise ValueError("taken_minor only goes with SUCCEEDED")
            if type(taken) is not int or taken < 0:
                raise TypeError("taken_minor must be a non-negative int of minor units")
        if asked is not None and (type(asked) is not int or asked < 0):
            raise TypeError("amount_minor must be a non-negative int of minor units")
        if self.attempt is not None and (type(self.attempt) is not int or self.attempt < 0):
            raise TypeError("attempt must be a non-negative int")


@dataclass
class ReportSummary:
    """What applying one report did; ``error`` is set when the report was refused whole."""

    source: str
    rows: int = 0
    moved: dict[str, int] = field(default_factory=dict)
    unchanged: int = 0
    attention: int = 0
    unmatched: int = 0
    refused: int = 0
    taken_minor: int = 0
    error: str | None = None
    duplicate: bool = False

    def count_move(self, status: Status, n: int = 1) -> None:
        """Count ``n`` records moved to ``status``."""
        self.moved[status.value] = self.moved.get(status.value, 0) + n

    def as_dict(self) -> dict[str, Any]:
        """For ``--json`` output and logs."""
        return {
            "source": self.source,
            "rows": self.rows,
            "moved": dict(self.moved),
            "unchanged": self.unchanged,
            "attention": self.attention,
            "unmatched": self.unmatched,
            "refused": self.refused,
            "taken_minor": self.taken_minor,
            "error": self.error,
            "duplicate": self.duplicate,
        }


class Report(ABC):
    """One unit of bulk news (a result file), applied all-or-nothing, then acknowledged."""

    #: where the rows come from, safe to log (``inbox/RESULT_20260105_000001.xml``)
    source: str = "report"

    @abstractmethod
    def rows(self) -> Iterator[ResultRow]:
        """The rows, streamed; raising a ``PaychannelsError`` refuses the whole report."""

    def unknown_payments(self, count: int, sample: list[ResultRow]) -> None:  # noqa: B027
        """``count`` rows name payments the journal does not hold (``sample``: the first
        few of them, in report order),
        found once every row is read and before anything is applied. By default they are
        counted as unmatched; a report that knows they must be there raises a
        ``PaychannelsError`` to be refused whole."""

    def applied(self, summary: ReportSummary) -> None:  # noqa: B027 - optional hook
        """Every row is in the journal: mark the source done (ledger, move the file)."""

    def rejected(self, error: PaychannelsError) -> None:  # noqa: B027 - optional hook
        """Nothing was applied because the rows could not be read: quarantine the source."""
