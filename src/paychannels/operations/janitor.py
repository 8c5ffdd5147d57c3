"""The janitor: what a deployment needs done while nobody watches, round after round.

Each round expires the journal's stale locks, recovers interrupted and UNKNOWN payments
(``Collector.recover``: dead claims become UNKNOWN and every doubt is asked about, never
resent) and runs the scheduled downloads that are due (``JobRunner``: once per county day
per channel across all processes). Several janitors may run at once on one journal: every
step is decided in the journal, never in a process's memory.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from paychannels.operations.jobs import JobResult, JobRunner
from paychannels.operations.schedule import JanitorSchedule
from paychannels.runtime.countytime import CountyTime
from paychannels.values.errors import JournalClosed, JournalUnavailable

if TYPE_CHECKING:
    from paychannels.collector import Collector

__all__ = ["EXIT_IN_DOUBT", "EXIT_SETTLED", "Janitor", "RoundReport"]

log = logging.getLogger("paychannels.operations.janitor")

EXIT_SETTLED = 0
EXIT_IN_DOUBT = 3


@dataclass
class RoundReport:
    """What one round found and did."""

    at: datetime
    zone: str
    locks_expired: list[str] = field(default_factory=list)
    examined: int = 0
    resolved: dict[str, int] = field(default_factory=dict)
    in_doubt: list[str] = field(default_factory=list)
    needs_attention: list[str] = field(default_factory=list)
    in_flight: list[str] = field(default_factory=list)
    #: in doubt and not asked: their channel is not one this janitor was given
    not_asked: dict[str, str] = field(default_factory=dict)
    awaiting_files: dict[str, int] = field(default_factory=dict)
    jobs: list[JobResult] = field(default_factory=list)
    #: why the round stopped short (the journal was unreachable or locked); the next retries
    error: str | None = None

    @property
    def quarantined(self) -> int:
        """Files set aside this round (each with its reason beside it)."""
        return sum(j.quarantined for j in self.jobs)

    @property
    def settled(self) -> bool:
        """Nothing left for a later round or a person: no doubt, no failed job, no bad file."""
        return not (
            self.error
            or self.in_doubt
            or self.needs_attention
            or self.in_flight
            or self.not_asked
            or self.quarantined
            or any(j.outcome == "failed" for j in self.jobs)
        )

    @property
    def exit_code(self) -> int:
        """0 when settled, 3 when something is still in doubt (see ``settled``)."""
        return EXIT_SETTLED if self.settled else EXIT_IN_DOUBT

    def line(self) -> str:
        """The round in one line, as the log and the terminal show it."""
        resolved = sum(self.resolved.values())
        how = ", ".join(f"{n} {s}" for s, n in sorted(self.resolved.items()))
        parts = [
            f"{self.at.astimezone(CountyTime(self.zone).zone):%Y-%m-%d %H:%M} {self.zone}",
            f"{self.examined} examined",
            f"{resolved} resolved" + (f" ({how})" if resolved else ""),
            f"{len(self.in_doubt)} in doubt",
            f"{len(self.needs_attention)} need attention",
            f"{len(self.in_flight)} in flight",
            f"{len(self.not_asked)} not asked (channel not given)",
            f"{len(self.locks_expired)} lock(s) expired",
        ]
        jobs = "; ".join(
            f"{j.kind.value} {j.channel}: {j.outcome}"
            + (f" ({j.detail})" if j.detail and j.outcome != "already done" else "")
            + (f", {j.quarantined} quarantined" if j.quarantined else "")
            for j in self.jobs
        )
        verdict = "settled" if self.settled else "NOT settled"
        if self.error is not None:
            return f"janitor {verdict}: {parts[0]}, round stopped short: {self.error}"
        return f"janitor {verdict}: " + ", ".join(parts) + (f"; jobs: {jobs}" if jobs else "")

    def as_dict(self) -> dict[str, Any]:
        """For ``--json``: one object per round."""
        return {
            "at": self.at.isoformat(),
            "zone": self.zone,
            "settled": self.settled,
            "exit_code": self.exit_code,
            "locks_expired": list(self.locks_expired),
            "examined": self.examined,
            "resolved": dict(self.resolved),
            "in_doubt": list(self.in_doubt),
            "needs_attention": list(self.needs_attention),
            "in_flight": list(self.in_flight),
            "not_asked": dict(self.not_asked),
            "awaiting_files": dict(self.awaiting_files),
            "quarantined": self.quarantined,
            "jobs": [j.as_dict() for j in self.jobs],
            "error": self.error,
        }


class Janitor:
    """Rounds of recovery, lease expiry and scheduled downloads over one Collector.

    ``Janitor(collector, schedule)`` is all a configuration needs to build one: the
    Collector with its channels added, the schedule in the county's zone.
    """

    def __init__(self, collector: Collector, schedule: JanitorSchedule | None = None) -> None:
        self.collector = collector
        self.schedule = schedule or JanitorSchedule()
        self.jobs = JobRunner(collector)
        for job in self.schedule.jobs:
            self.jobs.check(job)  # a schedule naming a channel that cannot do it fails now

    def round(self) -> RoundReport:
        """One round: expire stale locks, recover, run the due jobs.

        A journal that is unreachable or locked for now ends the round short, with the
        ``error`` in its report: a service must outlive a database restart. A closed one
        raises (nothing will change by waiting).
        """
        report = RoundReport(at=self.collector.clock.now(), zone=self.schedule.zone)
        try:
            self._work(report)
        except JournalClosed:
            raise
        except JournalUnavailable as exc:
            report.error = str(exc)
            log.warning("janitor round stopped short: %s", exc)
        log.info("%s", report.line())
        return report

    def _work(self, report: RoundReport) -> None:
        col, now = self.collector, report.at
        report.locks_expired = self._free_locks(now)
        recovered = col.recover()
        report.examined = recovered.examined
        report.resolved = dict(recovered.resolved)
        report.needs_attention = list(recovered.needs_attention)
        attention = set(recovered.needs_attention)
        report.in_doubt = [i for i in recovered.still_in_doubt if i not in attention]
        report.in_flight = list(recovered.in_flight)
        report.not_asked = dict(recovered.skipped)
        report.awaiting_files = dict(recovered.awaiting_files)
        for job, day in self.schedule.due(now):
            report.jobs.append(self.jobs.run(job, day))

    def _free_locks(self, now: datetime) -> list[str]:
        """Remove lock rows whose lease ended, and those of a process on this host that died
        holding them (by name and owner: a lock taken over meanwhile is left alone)."""
        journal = self.collector.journal
        freed = journal.expire_locks(now=now)
        for name, claim in journal.locks().items():
            if not self.collector.owner_alive(claim.owner):
                journal.release_lock(name, claim.owner)
                freed.append(name)
        return sorted(freed)

    def loop(
        self,
        interval: float,
        stop: Callable[[float], bool],
        *,
        each: Callable[[RoundReport], None] | None = None,
        rounds: int | None = None,
    ) -> RoundReport | None:
        """Rounds every ``interval`` seconds until ``stop(wait)`` says so (it waits up to
        ``wait`` seconds for a request to stop) or ``rounds`` are done; a round once begun
        is finished. Each report goes to ``each``; the last one is returned."""
        last: RoundReport | None = None
        done = 0
        while not stop(0.0):
            last = self.round()
            if each is not None:
                each(last)
            done += 1
            if (rounds is not None and done >= rounds) or stop(interval):
                break
        return last
