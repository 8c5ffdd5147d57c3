"""Recovery: resolving what a crash, a timeout or a silent channel left in doubt.

``recover()`` finds DISPATCHED records whose claimant is gone (a dead process, an expired
lease) and marks them UNKNOWN — never sends them again — then asks each channel about its
UNKNOWN and PENDING records. What stays unanswered past ``attention_after`` goes to a person.
Every decision names the attempt it was made about and is applied only to that attempt, so
two recoveries at once, or a recovery racing a retry, never act on a newer attempt.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from paychannels.crashpoints import crashpoint
from paychannels.ids import local_owner_alive
from paychannels.journal import Change
from paychannels.models import Record
from paychannels.reasons import Reason
from paychannels.resolution import attention
from paychannels.status import Status

if TYPE_CHECKING:
    from paychannels.collector import Collector

__all__ = ["RecoveryReport", "owner_alive", "recover"]


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


def recover(col: Collector, *, channel: str | None = None) -> RecoveryReport:
    """Resolve interrupted, UNKNOWN and PENDING records by asking their channels.

    PENDING payments of batch channels are left to ``poll()``: their results come in
    files, and asking about each of 300,000 debits in a sent file would teach nothing.
    """
    report = RecoveryReport()
    _recover_pages(col, [Status.DISPATCHED, Status.UNKNOWN], channel, report)
    for name, ch in sorted(col._channels.items()):
        if channel not in (None, name):
            continue
        if ch.capabilities.batch:
            waiting = col.journal.count_by_status(channel=name).get(Status.PENDING, 0)
            if waiting:
                report.awaiting_files[name] = waiting
        elif ch.capabilities.inquire:
            _recover_pages(col, [Status.PENDING], name, report)
    return report


def _recover_pages(
    col: Collector, statuses: list[Status], channel: str | None, report: RecoveryReport
) -> None:
    after: str | None = None
    while True:
        page = col.journal.find(statuses=statuses, channel=channel, after_id=after, limit=500)
        for record in page:
            report.examined += 1
            _recover_one(col, record, report)
        if len(page) < 500:
            return
        after = page[-1].id


def _recover_one(col: Collector, record: Record, report: RecoveryReport) -> None:
    ch = col._channels.get(record.channel)
    if ch is None:
        report.skipped[record.id] = f"channel {record.channel!r} is not added"
        return
    now = col.clock.now()
    if record.status is Status.DISPATCHED:
        if _claim_alive(col, record, now):
            report.in_flight.append(record.id)
            return
        record = _mark_interrupted(col, record)
        crashpoint("recover.after_unknown_mark")
        if record.status is not Status.UNKNOWN:
            report.resolved[record.status.value] = report.resolved.get(record.status.value, 0) + 1
            return
    if ch.capabilities.inquire:
        record = col._inquire(record, ch, via="recovery inquiry")
    if record.status is Status.UNKNOWN and _unknown_too_long(col, record, now):
        record = _past_deadline(col, record)
    if record.status is Status.NEEDS_ATTENTION:
        report.needs_attention.append(record.id)
    elif record.status in (Status.UNKNOWN, Status.PENDING, Status.DISPATCHED):
        report.still_in_doubt.append(record.id)
    else:
        report.resolved[record.status.value] = report.resolved.get(record.status.value, 0) + 1


def _past_deadline(col: Collector, seen: Record) -> Record:
    """NEEDS_ATTENTION for the UNKNOWN attempt we judged, if it is still that attempt."""

    def decide(current: Record) -> list[Change]:
        if current.status is not Status.UNKNOWN or current.attempt != seen.attempt:
            return []  # resolved or retried meanwhile: the deadline was about another state
        text = f"no trustworthy answer within {col.attention_after}"
        return attention(current, text, Reason.RECOVERY_DEADLINE)

    return col._write(lambda now: col.journal.modify(seen.id, decide, now=now)).record


def _mark_interrupted(col: Collector, seen: Record) -> Record:
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

    return col._write(lambda now: col.journal.modify(seen.id, decide, now=now)).record


def _claim_alive(col: Collector, record: Record, now: datetime) -> bool:
    owner, until = record.claimed_by, record.lease_until
    if owner is None or until is None or until <= now:
        return False
    return owner_alive(col, owner)


def owner_alive(col: Collector, owner: str) -> bool:
    """Whether the process named by a claim or lock owner may still be running.

    Only a process on this host can be seen to be dead; another host's is trusted. In this
    very process an owner is alive while its Collector is open or has calls in flight.
    """
    if owner == col.owner:
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


def _unknown_too_long(col: Collector, record: Record, now: datetime) -> bool:
    """UNKNOWN with no word from the channel for ``attention_after``.

    A channel that answers "I hold it, still processing" (a debit in a file sent to the
    bank) restarts the clock: that is waiting, not doubt, and banks take days.
    """
    since = record.updated_at
    for ev in col.journal.events(record_id=record.id, limit=100_000):
        if ev.to_status is Status.UNKNOWN or ev.data.get("channel_holds_it") is True:
            since = ev.at
    return now - since >= col.attention_after
