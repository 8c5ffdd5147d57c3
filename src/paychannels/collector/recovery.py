"""Recovery: resolving what a crash, a timeout or a silent channel left in doubt.

``recover()`` finds DISPATCHED records whose claimant is gone (a dead process, an expired
lease) and marks them UNKNOWN — never sends them again — then asks each channel about its
UNKNOWN and PENDING records, and about SUCCEEDED payments whose void went unanswered.
What stays unanswered past ``attention_after`` goes to a person. Every decision names the
attempt it was made about and is applied only to that attempt, so two recoveries at once,
or a recovery racing a retry, never act on a newer attempt.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from paychannels.collector.channelset import ChannelSet
from paychannels.collector.inquiry import Inquirer
from paychannels.collector.resolution import attention
from paychannels.collector.voids import Voids
from paychannels.collector.writer import JournalWriter
from paychannels.journal import Change, Journal
from paychannels.runtime.clock import Clock
from paychannels.runtime.crashpoints import crashpoint
from paychannels.runtime.ids import Owner, local_owner_alive
from paychannels.values.models import Record
from paychannels.values.reasons import Reason
from paychannels.values.status import Status

__all__ = ["Recovery", "RecoveryReport", "owner_alive"]


@dataclass
class RecoveryReport:
    """What one ``recover()`` pass found and did."""

    examined: int = 0
    resolved: dict[str, int] = field(default_factory=dict)
    still_in_doubt: list[str] = field(default_factory=list)
    needs_attention: list[str] = field(default_factory=list)
    in_flight: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    #: PENDING payments of batch channels, by channel: their results come with ``poll()``
    awaiting_files: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """For ``--json`` output."""
        return {
            "examined": self.examined,
            "resolved": dict(self.resolved),
            "still_in_doubt": list(self.still_in_doubt),
            "needs_attention": list(self.needs_attention),
            "in_flight": list(self.in_flight),
            "skipped": dict(self.skipped),
            "awaiting_files": dict(self.awaiting_files),
        }


class Recovery:
    """Resolves what was left in doubt; see the module docstring."""

    def __init__(
        self,
        journal: Journal,
        writer: JournalWriter,
        clock: Clock,
        owner: Owner,
        channels: ChannelSet,
        inquirer: Inquirer,
        voids: Voids,
        *,
        attention_after: timedelta,
    ) -> None:
        self._journal = journal
        self._writer = writer
        self._clock = clock
        self._owner = owner
        self._channels = channels
        self._inquirer = inquirer
        self._voids = voids
        #: how long UNKNOWN may last with no word from the channel before a person is asked
        self.attention_after = attention_after

    def recover(self, *, channel: str | None = None) -> RecoveryReport:
        """Resolve interrupted, UNKNOWN and PENDING records by asking their channels.

        PENDING payments of batch channels are left to ``poll()``: their results come in
        files, and asking about each of 300,000 debits in a sent file would teach nothing.
        """
        report = RecoveryReport()
        asked: set[str] = set()  # an UNKNOWN that became PENDING is not asked twice in a run
        self._recover_pages([Status.DISPATCHED, Status.UNKNOWN], channel, report, asked)
        self._recover_voids(channel, report)
        for name, ch in self._channels:
            if channel not in (None, name):
                continue
            if ch.capabilities.batch:
                waiting = self._journal.count_by_status(channel=name).get(Status.PENDING, 0)
                if waiting:
                    report.awaiting_files[name] = waiting
            elif ch.capabilities.inquire:
                self._recover_pages([Status.PENDING], name, report, asked)
        return report

    def owner_alive(self, owner: str) -> bool:
        """Whether the process named by a claim or lock owner may still be running."""
        return owner_alive(self._owner, owner)

    def _recover_pages(
        self, statuses: list[Status], channel: str | None, report: RecoveryReport, asked: set[str]
    ) -> None:
        after: str | None = None
        while True:
            page = self._journal.find(statuses=statuses, channel=channel, after_id=after, limit=500)
            for record in page:
                if record.id in asked:
                    continue
                if record.status is not Status.PENDING:  # the few in doubt, not every PENDING
                    asked.add(record.id)
                report.examined += 1
                self._recover_one(record, report)
            if len(page) < 500:
                return
            after = page[-1].id

    def _recover_voids(self, channel: str | None, report: RecoveryReport) -> None:
        """SUCCEEDED payments with a void whose sender is gone or got no answer: ask."""
        after: str | None = None
        while True:
            page = self._journal.find(
                statuses=[Status.SUCCEEDED], claimed=True, channel=channel, after_id=after,
                limit=500,
            )  # fmt: skip
            for record in page:
                report.examined += 1
                self._recover_void(record, report)
            if len(page) < 500:
                return
            after = page[-1].id

    def _recover_void(self, record: Record, report: RecoveryReport) -> None:
        ch = self._channels.find(record.channel)
        if ch is None:
            report.skipped[record.id] = f"channel {record.channel!r} is not added"
            return
        now = self._clock.now()
        if self._claim_alive(record, now):
            report.in_flight.append(record.id)
            return
        record = self._voids.settle(record, ch, attention_after_since=now - self.attention_after)
        if record.voiding:
            report.still_in_doubt.append(record.id)
            if record.attention is not None:
                report.needs_attention.append(record.id)
        else:
            report.resolved[record.status.value] = report.resolved.get(record.status.value, 0) + 1

    def _recover_one(self, record: Record, report: RecoveryReport) -> None:
        ch = self._channels.find(record.channel)
        if ch is None:
            report.skipped[record.id] = f"channel {record.channel!r} is not added"
            return
        now = self._clock.now()
        if record.status is Status.DISPATCHED:
            if self._claim_alive(record, now):
                report.in_flight.append(record.id)
                return
            record = self._mark_interrupted(record)
            crashpoint("recover.after_unknown_mark")
            if record.status is not Status.UNKNOWN:
                report.resolved[record.status.value] = (
                    report.resolved.get(record.status.value, 0) + 1
                )
                return
        if ch.capabilities.inquire:
            record = self._inquirer.ask(record, ch, via="recovery inquiry")
        if record.status is Status.UNKNOWN and self._unknown_too_long(record, now):
            record = self._past_deadline(record)
        if record.status is Status.NEEDS_ATTENTION:
            report.needs_attention.append(record.id)
        elif record.status is Status.PENDING and ch.capabilities.batch:
            return  # with the bank, its result comes in a file: counted in awaiting_files
        elif record.status in (Status.UNKNOWN, Status.PENDING, Status.DISPATCHED):
            report.still_in_doubt.append(record.id)
        else:
            report.resolved[record.status.value] = report.resolved.get(record.status.value, 0) + 1

    def _past_deadline(self, seen: Record) -> Record:
        """NEEDS_ATTENTION for the UNKNOWN attempt we judged, if it is still that attempt."""
        text = f"no trustworthy answer within {self.attention_after}"

        def decide(current: Record) -> list[Change]:
            if current.status is not Status.UNKNOWN or current.attempt != seen.attempt:
                return []  # resolved or retried meanwhile: the deadline was about another state
            return attention(current, text, Reason.RECOVERY_DEADLINE)

        return self._writer.modify(seen.id, decide)

    def _mark_interrupted(self, seen: Record) -> Record:
        """UNKNOWN for the dispatch we found dead — not for a later attempt of the same claimant."""

        def decide(current: Record) -> list[Change]:
            if (
                current.status is not Status.DISPATCHED
                or current.claimed_by != seen.claimed_by
                or current.attempt != seen.attempt
            ):
                return []
            return [
                Change(
                    to_status=Status.UNKNOWN,
                    reason=Reason.NO_ANSWER,
                    reason_detail="dispatch was interrupted before its outcome was journaled",
                    data={"via": "recovery", "claimed_by": seen.claimed_by},
                    attempt=seen.attempt,
                )
            ]

        return self._writer.modify(seen.id, decide)

    def _claim_alive(self, record: Record, now: datetime) -> bool:
        owner, until = record.claimed_by, record.lease_until
        if owner is None or until is None or until <= now:
            return False
        return self.owner_alive(owner)

    def _unknown_too_long(self, record: Record, now: datetime) -> bool:
        """UNKNOWN with no word from the channel for ``attention_after``.

        A channel that answers "I hold it, still processing" (a debit in a file sent to the
        bank) moves it to PENDING: waiting, not doubt, and banks take days. Journals written
        before that edge hold such answers as ``channel_holds_it`` notes, which restart the clock.
        """
        since = record.updated_at
        for ev in self._journal.events(record_id=record.id, limit=100_000):
            if ev.to_status is Status.UNKNOWN or ev.data.get("channel_holds_it") is True:
                since = ev.at
        return now - since >= self.attention_after


def owner_alive(me: Owner, owner: str) -> bool:
    """Whether the process named by a claim or lock owner may still be running.

    Only a process on this host can be seen to be dead; another host's is trusted. In this
    very process an owner is alive while its Collector is open or has calls in flight
    (``me`` is the asking Collector's own name).
    """
    if owner == me.name:
        return True
    here = local_owner_alive(owner)
    if here is not None:
        return here
    host, _, rest = owner.partition("/")
    pid_text = rest.partition("/")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return True  # another machine: trust its lease
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
