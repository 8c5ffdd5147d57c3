"""Scheduled downloads, each done once per county day per channel across every process.

A job runs under the journal's named lock ``janitor:<kind>:<channel>`` (taken without
waiting: a janitor that finds it busy leaves the job to the holder) and, once done, leaves
a mark in the journal's channel state (scope ``janitor``, key ``<kind>:<channel>:<day>``).
The mark is read again under the lock, so of two janitors racing exactly one downloads.
A job that fails leaves no mark and is tried again next round; every job may be repeated
safely (a bill recorded again replaces itself; a result file is applied once by its hash).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from pydantic import JsonValue

from paychannels.channels.base import ChannelContext
from paychannels.operations.schedule import JobKind, ScheduledJob
from paychannels.values.errors import ConfigurationError, NotSentError, PaychannelsError

if TYPE_CHECKING:
    from paychannels.collector import Collector

__all__ = [
    "BillSource",
    "DayCloser",
    "JobResult",
    "JobRunner",
    "ReportSource",
    "UnsupportedJob",
]

log = logging.getLogger("paychannels.operations.jobs")

SCOPE = "janitor"
#: how long a job may hold its lock; a janitor that died holding it on this host is
#: taken over at once, one on another host after this lease
JOB_LEASE = 900.0
#: seconds before a failed job is tried again by the same janitor (a provider that is down
#: is not asked every round)
RETRY_AFTER = 600.0

Outcome = Literal["done", "already done", "busy", "failed"]


class UnsupportedJob(ConfigurationError):
    """A scheduled job names a channel that cannot do it (a bill of a terminal)."""


@runtime_checkable
class BillSource(Protocol):
    """A provider channel: its trade bill of a day, recorded as settlement figures."""

    def download_bill(self, ctx: ChannelContext, day: date) -> object: ...


@runtime_checkable
class ReportSource(Protocol):
    """A cloud POS: the acquirer's settlement report of a day, recorded likewise."""

    def download_report(self, ctx: ChannelContext, day: date) -> object: ...


@runtime_checkable
class DayCloser(Protocol):
    """A terminal: closes its batch and records the totals."""

    def end_of_day(self, ctx: ChannelContext) -> object: ...


@dataclass(frozen=True, slots=True)
class JobResult:
    """What one scheduled job did this round."""

    channel: str
    kind: JobKind
    day: date
    outcome: Outcome
    detail: str = ""
    quarantined: int = 0

    def as_dict(self) -> dict[str, object]:
        """For ``--json``."""
        return {
            "channel": self.channel,
            "kind": self.kind.value,
            "day": self.day.isoformat(),
            "outcome": self.outcome,
            "detail": self.detail,
            "quarantined": self.quarantined,
        }


class JobRunner:
    """Runs due jobs through the channels' own verbs, once per day (module docstring)."""

    def __init__(self, collector: Collector, *, retry_after: float = RETRY_AFTER) -> None:
        self.collector = collector
        self.retry_after = retry_after
        self._failures: dict[str, tuple[float, str]] = {}  # key -> (monotonic time, why)

    def run(self, job: ScheduledJob, day: date) -> JobResult:
        """Run ``job`` for the county day ``day`` unless it ran already or runs elsewhere."""
        key = f"{job.kind.value}:{job.channel}:{day.isoformat()}"
        if self._done(key):
            return JobResult(job.channel, job.kind, day, "already done")
        failed = self._failures.get(key)
        if failed is not None:
            wait = failed[0] + self.retry_after - self.collector.clock.monotonic()
            if wait > 0:
                why = f"{failed[1]} (tried again in {wait:.0f} s)"
                return JobResult(job.channel, job.kind, day, "failed", why)
        try:
            with self.collector.locks.hold(f"janitor:{job.kind.value}:{job.channel}",
                                           lease=JOB_LEASE, timeout=0.0):  # fmt: skip
                if self._done(key):  # done by the janitor that held the lock before us
                    return JobResult(job.channel, job.kind, day, "already done")
                result = self._attempt(job, day)
                if result.outcome == "done":
                    self._mark(key, result)
                    self._failures.pop(key, None)
                else:
                    self._failures[key] = (self.collector.clock.monotonic(), result.detail)
                return result
        except NotSentError:
            return JobResult(job.channel, job.kind, day, "busy", "running in another process")

    def _attempt(self, job: ScheduledJob, day: date) -> JobResult:
        try:
            detail, quarantined = self._fetch(job, day)
        except PaychannelsError as exc:
            log.warning("%s failed: %s", job, exc)
            return JobResult(job.channel, job.kind, day, "failed", str(exc))
        log.info("%s done for %s: %s", job, day, detail)
        return JobResult(job.channel, job.kind, day, "done", detail, quarantined)

    def check(self, job: ScheduledJob) -> None:
        """``UnsupportedJob`` unless the job's channel is added and has the job's verb."""
        ch = self.collector.channel(job.channel)
        verb = {
            JobKind.BILL: BillSource,
            JobKind.ACQUIRER_REPORT: ReportSource,
            JobKind.END_OF_DAY: DayCloser,
        }.get(job.kind)
        if job.kind is JobKind.BANK_RESULTS and not ch.capabilities.batch:
            raise UnsupportedJob(f"schedule {job}: channel {job.channel!r} takes no result files")
        if verb is not None and not isinstance(ch, verb):
            raise UnsupportedJob(f"schedule {job}: channel {job.channel!r} has no {job.kind.value}")

    def _fetch(self, job: ScheduledJob, day: date) -> tuple[str, int]:
        """Call the channel's verb for the job: what it fetched and how many files it set aside."""
        ch = self.collector.channel(job.channel)
        ctx = self.collector.channel_context(job.channel)
        yesterday = day - timedelta(days=1)
        if job.kind is JobKind.BANK_RESULTS:
            # the inbox only: ``poll`` would also write due request files, and sending
            # debits to the bank is the collecting side's decision, never the janitor's
            applied = [self.collector.apply_report(job.channel, r) for r in ch.reports(ctx)]
            bad = sum(1 for s in applied if s.error is not None)
            return f"{len(applied) - bad} result file(s) applied", bad
        if job.kind is JobKind.BILL and isinstance(ch, BillSource):
            ch.download_bill(ctx, yesterday)
            return f"bill of {yesterday} recorded", 0
        if job.kind is JobKind.ACQUIRER_REPORT and isinstance(ch, ReportSource):
            ch.download_report(ctx, yesterday)
            return f"acquirer report of {yesterday} recorded", 0
        if job.kind is JobKind.END_OF_DAY and isinstance(ch, DayCloser):
            ch.end_of_day(ctx)
            return "batch closed and its totals recorded", 0
        raise UnsupportedJob(f"schedule {job}: channel {job.channel!r} has no {job.kind.value}")

    def _done(self, key: str) -> bool:
        return self.collector.journal.state_get(SCOPE, key) is not None

    def _mark(self, key: str, result: JobResult) -> None:
        now = self.collector.clock.now()
        value: dict[str, JsonValue] = {
            "at": now.isoformat(),
            "by": self.collector.owner,
            "detail": result.detail,
        }
        if not self.collector.journal.state_put(SCOPE, key, value, expected_version=0, now=now):
            log.warning("%s: marked done by another process meanwhile", key)
