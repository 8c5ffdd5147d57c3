"""Intake: news that arrives unasked — callbacks, result-file rows, polled reports.

A verified notice is applied through the one resolution policy (after its merchant and
amount checks); an unverified one is only a hint to go and ask the channel — never written
to the journal (a flood of forged callbacks must cost no writes), and asked about only
while the payment is awaited and the per-payment ``QueryLimiter`` allows. What callbacks
cost is counted in ``CallbackCounts`` (``Collector.callback_counts``).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence

from paychannels.channels.base import Notice, Reply
from paychannels.collector.channelset import ChannelSet
from paychannels.collector.context import Contexts
from paychannels.collector.groupcommit import GroupCommit
from paychannels.collector.inquiry import Inquirer
from paychannels.collector.querylimit import QueryLimiter
from paychannels.collector.resolution import attention, resolve
from paychannels.collector.results import BulkResults
from paychannels.collector.writer import JournalWriter
from paychannels.journal import Change, Journal
from paychannels.journal.base import Applied
from paychannels.security.verification import CallbackRejected
from paychannels.values.errors import PaychannelsError, PaymentNotFound
from paychannels.values.models import Record
from paychannels.values.reasons import Reason
from paychannels.values.results import ReportSummary
from paychannels.values.status import Status

__all__ = ["CallbackCounts", "Intake", "PollResult"]

log = logging.getLogger("paychannels.collector")

_CHUNK = 1000  # notices per transaction (a result file of 300,000 rows)


class PollResult(list[Record]):
    """What ``Collector.poll`` did: the records its notices changed (it is that list), and
    ``reports``, the summary of each bulk report (result file) it applied or refused."""

    def __init__(self, records: Sequence[Record] = (), reports: Sequence[ReportSummary] = ()):
        super().__init__(records)
        self.reports: list[ReportSummary] = list(reports)


class CallbackCounts:
    """Counters a caller can read (``snapshot()``): what unasked news cost us.

    ``received``, ``accepted`` and ``refused`` callbacks; ``hints`` (unverified news about a
    payment we hold), the ``queries`` they caused, and those the limiter ``throttled``.
    """

    NAMES = ("received", "accepted", "refused", "hints", "queries", "throttled")

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, name: str, n: int = 1) -> None:
        """Count ``n`` more of ``name`` (one of ``NAMES``)."""
        with self._lock:
            self._counts[name] += n

    def snapshot(self) -> dict[str, int]:
        """Every counter, by name."""
        with self._lock:
            return {name: self._counts[name] for name in self.NAMES}


class Intake:
    """Takes unasked news about payments: callbacks, notices, what a batch channel polls."""

    def __init__(
        self,
        journal: Journal,
        writer: JournalWriter,
        channels: ChannelSet,
        contexts: Contexts,
        inquirer: Inquirer,
        results: BulkResults,
        counts: CallbackCounts,
        limiter: QueryLimiter,
    ) -> None:
        self._journal = journal
        self._writer = writer
        self._channels = channels
        self._contexts = contexts
        self._inquirer = inquirer
        self._results = results
        self._counts = counts
        self._limiter = limiter
        self._group = GroupCommit(writer)

    def handle_notice(self, channel: str, notice: Notice) -> Record | None:
        """Apply unasked news (callback, result-file row); unverified news may trigger a query.

        A verified notice naming its payment is written straight away (no read first), in one
        transaction with whatever other threads are crediting at the same moment.
        """
        if notice.verified and notice.outcome is not None and notice.payment_id:
            result = self._group.modify(notice.payment_id, _notice_decision(notice))
            if isinstance(result, PaymentNotFound):
                self._unknown(channel, notice)
                return None
            if isinstance(result, PaychannelsError):
                raise result
            return result.record
        record = self._locate(channel, notice)
        if record is None:
            self._unknown(channel, notice)
            return None
        if not notice.verified or notice.outcome is None:
            return self._inquire_after_hint(record, notice)
        return self._writer.modify(record.id, _notice_decision(notice))

    def _unknown(self, channel: str, notice: Notice) -> None:
        """Log news about no payment of ours (the caller ignores it)."""
        # unverified news about no payment of ours is what forgers send: not worth a WARNING
        log.log(
            logging.WARNING if notice.verified else logging.DEBUG,
            "%s: notice for an unknown payment (%s, ref %s) ignored",
            channel,
            notice.payment_id,
            notice.channel_ref,
        )

    def handle_notices(self, channel: str, notices: Sequence[Notice]) -> list[Record | None]:
        """``handle_notice`` for many (a result file): verified ones in chunked transactions."""
        results: list[Record | None] = [None] * len(notices)
        bulk: list[tuple[int, str, Notice]] = []
        for i, notice in enumerate(notices):
            if notice.verified and notice.outcome is not None and notice.payment_id:
                bulk.append((i, notice.payment_id, notice))
            else:
                results[i] = self.handle_notice(channel, notice)
        for start in range(0, len(bulk), _CHUNK):
            chunk = bulk[start : start + _CHUNK]
            decisions = [(rid, _notice_decision(n)) for _, rid, n in chunk]
            applied = self._writer.modify_all(decisions)
            for (i, rid, _n), item in zip(chunk, applied, strict=True):
                if isinstance(item, Applied):
                    results[i] = item.record
                else:
                    log.warning("%s: notice for %s not applied: %s", channel, rid, item)
        return results

    def handle_callback(self, channel: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """Verify a provider's callback on its raw bytes, apply it, and build the reply."""
        ch = self._channels.get(channel)
        counts = self._counts
        counts.add("received")
        try:
            notices, reply = ch.parse_callback(headers, body, self._contexts.for_channel(channel))
        except CallbackRejected:
            counts.add("refused")
            raise
        counts.add("refused" if reply.status_code >= 400 else "accepted")
        for notice in notices:
            self.handle_notice(channel, notice)
        return reply

    def poll(self, channel: str) -> PollResult:
        """Run a batch channel's periodic work and apply what it found.

        Notices go through ``handle_notices``; bulk reports (result files) through
        ``BulkResults.apply``, each all-or-nothing and acknowledged to the channel.
        """
        ch = self._channels.get(channel)
        ctx = self._contexts.for_channel(channel)
        records = [r for r in self.handle_notices(channel, ch.poll(ctx)) if r is not None]
        summaries = [self._results.apply(channel, report) for report in ch.reports(ctx)]
        return PollResult(records, summaries)

    def _locate(self, channel: str, notice: Notice) -> Record | None:
        if notice.payment_id:
            try:
                return self._journal.get(notice.payment_id)
            except PaymentNotFound:
                return None
        if notice.channel_ref:
            found = self._journal.find(channel=channel, channel_ref=notice.channel_ref, limit=2)
            return found[0] if len(found) == 1 else None
        return None

    def _inquire_after_hint(self, record: Record, notice: Notice) -> Record:
        # Only an answer still awaited is worth a question: a hint about a settled or an
        # in-flight payment must not make us query the provider, nor race the dispatcher of a
        # DISPATCHED payment; and however many copies come, the limiter bounds the questions.
        # Nothing is written for the hint itself: the journal holds what we know, not rumours.
        counts = self._counts
        counts.add("hints")
        awaited = record.status in (Status.PENDING, Status.UNKNOWN)
        ch = self._channels.find(record.channel)
        if not awaited or ch is None or not ch.capabilities.inquire:
            return record
        if not self._limiter.allow(record.id):
            counts.add("throttled")
            log.debug("%s: %s hint not asked about (query limit)", record.id, notice.source)
            return record
        counts.add("queries")
        return self._inquirer.ask(record, ch, via="inquiry after unverified notice")


def _notice_decision(notice: Notice) -> Callable[[Record], list[Change]]:
    """How a verified notice changes a record: checks first, then the one policy."""
    assert notice.outcome is not None
    outcome, via = notice.outcome, notice.source

    def decide(current: Record) -> list[Change]:
        if notice.attempt is not None and notice.attempt != current.attempt:
            return resolve(current, outcome, via=via, attempt=notice.attempt)  # recorded only
        if notice.problem:
            return attention(current, f"{via}: {notice.problem}", Reason.MERCHANT_MISMATCH)
        if notice.amount is not None and notice.amount != current.amount:
            return attention(
                current,
                f"{via}: order amount {notice.amount} differs from journaled {current.amount}",
                Reason.AMOUNT_MISMATCH,
            )
        return resolve(current, outcome, via=via, attempt=notice.attempt)

    return decide
