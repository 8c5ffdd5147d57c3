"""Bulk results: applying a ``Report`` (a result file) to the journal, set-based moves first,
the policy for the rest.

``BulkResults`` serves ``Collector.apply_report`` and ``poll``. The journal applies the plain
forward moves in SQL and hands back the odd rows; those go through the same checks as a
verified ``Notice`` (problem or amount mismatch -> attention) and then
``resolution.resolve``, in chunked transactions.
Rows for payments the journal does not have, or that belong to another channel, are counted
as unmatched and change nothing — unless the report says those payments must be there
(``Report.unknown_payments``): then it is refused whole before anything is applied.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from paychannels.collector.resolution import attention, resolve
from paychannels.collector.writer import JournalWriter
from paychannels.journal import Journal
from paychannels.journal.base import Applied, BulkApplied, Change, Decide
from paychannels.runtime.clock import Clock
from paychannels.values.errors import PaychannelsError, PaymentNotFound
from paychannels.values.models import EventType, Outcome, Record
from paychannels.values.money import Money
from paychannels.values.reasons import Reason
from paychannels.values.results import Report, ReportSummary, ResultRow
from paychannels.values.status import Status

__all__ = ["BulkResults", "row_decision"]

log = logging.getLogger("paychannels.collector")
_PAGE = 2000


class _Reading:
    """Wraps a report's rows: counts them and remembers an error raised while reading."""

    def __init__(self, report: Report, summary: ReportSummary) -> None:
        self.report = report
        self.summary = summary
        self.error: PaychannelsError | None = None

    def __iter__(self) -> Iterator[ResultRow]:
        try:
            for row in self.report.rows():
                self.summary.rows += 1
                yield row
        except PaychannelsError as exc:
            self.error = exc
            raise

    def unknown(self, count: int, sample: list[ResultRow]) -> None:
        """Rows for payments the journal does not hold: the report may refuse itself."""
        try:
            self.report.unknown_payments(count, sample)
        except PaychannelsError as exc:
            self.error = exc
            raise


def row_decision(row: ResultRow, via: str, channel: str, foreign: set[str]) -> Decide:
    """How one odd row changes a record: the checks of a verified notice, then the policy."""

    def decide(current: Record) -> list[Change]:
        if current.channel != channel or current.kind != "payment":
            foreign.add(current.id)
            return []
        if row.attempt is not None and row.attempt != current.attempt:
            return resolve(current, _outcome(row, None), via=via, attempt=row.attempt)
        if row.problem and row.status not in (Status.DECLINED, Status.REVERSED):
            return attention(current, f"{via}: {row.problem}", row.reason or Reason.OTHER)
        code = current.amount.currency.code
        if (row.currency is not None and row.currency != code) or (
            row.amount_minor is not None and row.amount_minor != current.amount.minor
        ):
            stated = f"{row.amount_minor} {row.currency or code}"
            return attention(
                current,
                f"{via}: amount {stated} (minor units) differs from journaled {current.amount}",
                Reason.AMOUNT_MISMATCH,
            )
        changes = resolve(current, _outcome(row, current), via=via, attempt=row.attempt)
        if row.problem:  # a definite refusal for a reason nobody knows: apply it, and flag it
            text = f"{via}: {row.problem}"
            changes.append(
                Change(event=EventType.ATTENTION, attention=text, data={"reason": "UNMAPPED"})
            )
        return changes

    return decide


def _outcome(row: ResultRow, current: Record | None) -> Outcome:
    """The row as a channel's report (what was taken, in the payment's currency)."""
    taken = None
    if row.taken_minor is not None and row.status is Status.SUCCEEDED and current is not None:
        taken = Money.of_minor(row.taken_minor, current.amount.currency)
    return Outcome(
        status=row.status,
        amount_taken=taken,
        channel_ref=row.channel_ref,
        reason=row.reason,
        reason_detail=row.reason_detail,
        message=row.message,
    )


def _pages(rows: list[ResultRow]) -> Iterator[list[ResultRow]]:
    """Pages of distinct payments, in order: a payment named twice is applied twice, in turn."""
    page: list[ResultRow] = []
    ids: set[str] = set()
    for row in rows:
        if len(page) >= _PAGE or row.payment_id in ids:
            yield page
            page, ids = [], set()
        page.append(row)
        ids.add(row.payment_id)
    if page:
        yield page


def _count(item: Applied, summary: ReportSummary) -> None:
    moves = [e for e in item.events if e.to_status is not None]
    if not item.events:
        summary.unchanged += 1
    if item.record.attention and any(e.data.get("attention") for e in item.events):
        summary.attention += 1
    if moves:
        final = moves[-1].to_status
        assert final is not None
        if final is Status.NEEDS_ATTENTION:
            return
        summary.count_move(final)
        if final is Status.SUCCEEDED and item.record.amount_taken is not None:
            summary.taken_minor += item.record.amount_taken.minor


class BulkResults:
    """Applies bulk reports to the journal through ``writer``, all rows or none."""

    def __init__(self, journal: Journal, writer: JournalWriter, clock: Clock) -> None:
        self._journal = journal
        self._writer = writer
        self._clock = clock

    def apply(self, channel: str, report: Report) -> ReportSummary:
        """Apply every row of ``report`` or, if it cannot be read, none; then acknowledge it."""
        summary = ReportSummary(source=report.source)
        reading = _Reading(report, summary)
        via = report.source
        try:
            chunks = self._journal.apply_results(
                reading, channel=channel, via=via, now=self._clock.now(), unknown=reading.unknown
            )
            for done in chunks:
                for status, n in done.moved.items():
                    summary.count_move(status, n)
                summary.unchanged += done.unchanged
                summary.unmatched += done.unmatched
                summary.taken_minor += done.taken_minor
                self._publish(done)
                self._leftovers(channel, via, done.leftovers, summary)
        except PaychannelsError as exc:
            if reading.error is not exc:
                raise
            summary.error = str(exc)
            summary.rows = 0
            log.warning("%s refused whole, nothing applied: %s", via, exc)
            report.rejected(exc)
            return summary
        report.applied(summary)
        return summary

    def _leftovers(
        self, channel: str, via: str, rows: list[ResultRow], summary: ReportSummary
    ) -> None:
        for part in _pages(rows):
            foreign: set[str] = set()
            items = [(r.payment_id, row_decision(r, via, channel, foreign)) for r in part]
            results = self._writer.modify_all(items)
            for row, item in zip(part, results, strict=True):
                if isinstance(item, PaymentNotFound) or row.payment_id in foreign:
                    summary.unmatched += 1
                elif isinstance(item, PaychannelsError):
                    summary.refused += 1
                    log.warning("%s: row for %s refused: %s", via, row.payment_id, item)
                elif isinstance(item, Applied):
                    _count(item, summary)

    def _publish(self, done: BulkApplied) -> None:
        """The events the journal wrote set-based, read back for subscribers (if any)."""
        if done.seqs is None or not self._writer.feed.has_subscribers:
            return
        after, last = done.seqs[0] - 1, done.seqs[1]
        while after < last:
            page = self._journal.events(after=after, limit=min(_PAGE, last - after))
            if not page:
                return
            self._writer.publish(page)
            after = page[-1].seq
