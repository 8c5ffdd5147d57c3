"""When the janitor downloads what: per channel, a kind of job and the county's time of day.

A job is due from its time of day on, once per county day: a janitor started late in the
day still runs it that day, and a day it was not running at all is not made up later.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum

from paychannels.config.model import DownloadKind, JanitorSettings
from paychannels.runtime.countytime import DEFAULT_ZONE, zone_named
from paychannels.values.errors import ConfigurationError

__all__ = ["JanitorSchedule", "JobKind", "ScheduledJob"]

_SPEC = re.compile(r"^(?P<channel>[A-Za-z0-9_.-]+)=(?P<kind>[a-z-]+)@(?P<h>\d{1,2}):(?P<m>\d{2})$")
_FORM = "CHANNEL=KIND@HH:MM, e.g. wx=bill@10:00"


class JobKind(StrEnum):
    """What a scheduled job fetches, and through which verb of the channel."""

    BILL = "bill"  # a provider's trade bill of the day before (download_bill)
    END_OF_DAY = "end-of-day"  # a terminal closes its batch and reports its totals (end_of_day)
    ACQUIRER_REPORT = "acquirer-report"  # a cloud POS acquirer's report of the day before
    BANK_RESULTS = "bank-results"  # the result files a bank dropped into the inbox (poll)


@dataclass(frozen=True, slots=True)
class ScheduledJob:
    """One channel's job and the county's time of day it is due from."""

    channel: str
    kind: JobKind
    at: time

    @classmethod
    def parse(cls, text: str) -> ScheduledJob:
        """``wx=bill@10:00``; a typed ``ConfigurationError`` naming the text otherwise."""
        m = _SPEC.match(text.strip())
        if m is None:
            raise ConfigurationError(f"schedule entry {text!r}: expected {_FORM}")
        kinds = ", ".join(k.value for k in JobKind)
        try:
            kind = JobKind(m["kind"])
        except ValueError:
            raise ConfigurationError(
                f"schedule entry {text!r}: unknown job kind {m['kind']!r} (one of {kinds})"
            ) from None
        hour, minute = int(m["h"]), int(m["m"])
        if hour > 23 or minute > 59:
            raise ConfigurationError(f"schedule entry {text!r}: no such time of day")
        return cls(m["channel"], kind, time(hour, minute))

    def __str__(self) -> str:
        return f"{self.channel}={self.kind.value}@{self.at:%H:%M}"


@dataclass(frozen=True)
class JanitorSchedule:
    """The scheduled jobs and the county's zone their times are read in."""

    jobs: tuple[ScheduledJob, ...] = ()
    zone: str = DEFAULT_ZONE

    def __post_init__(self) -> None:
        zone_named(self.zone)  # an unknown zone fails where the schedule is made
        seen: set[tuple[str, JobKind]] = set()
        for job in self.jobs:
            if (job.channel, job.kind) in seen:
                raise ConfigurationError(f"schedule: {job.kind.value} of {job.channel!r} twice")
            seen.add((job.channel, job.kind))

    @classmethod
    def parse(cls, entries: Iterable[str], *, zone: str = DEFAULT_ZONE) -> JanitorSchedule:
        """From ``CHANNEL=KIND@HH:MM`` entries (the command line's ``--schedule``)."""
        return cls(tuple(ScheduledJob.parse(e) for e in entries), zone)

    @classmethod
    def from_settings(
        cls, settings: JanitorSettings, *, extra: Iterable[str] = (), zone: str | None = None
    ) -> JanitorSchedule:
        """From ``paychannels.toml`` (each channel's ``*_at`` keys, ``[county] zone`` unless
        ``zone`` is given), plus the command line's ``--schedule`` entries."""
        jobs = [ScheduledJob(d.channel, _JOB_OF[d.kind], d.at) for d in settings.downloads]
        return cls((*jobs, *(ScheduledJob.parse(e) for e in extra)), zone or settings.zone)

    def due(self, now: datetime) -> list[tuple[ScheduledJob, date]]:
        """The jobs due at ``now`` (aware), each with the county's day it is due for."""
        local = now.astimezone(zone_named(self.zone))
        return [(job, local.date()) for job in self.jobs if local.time() >= job.at]


#: the config file's download keys (``bills_at`` …) and the jobs they schedule
_JOB_OF: dict[DownloadKind, JobKind] = {
    "bills": JobKind.BILL,
    "end_of_day": JobKind.END_OF_DAY,
    "reports": JobKind.ACQUIRER_REPORT,
    "results": JobKind.BANK_RESULTS,
}
