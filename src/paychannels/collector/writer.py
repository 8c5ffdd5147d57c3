"""The journal writer: every write of the Collector, stamped with its clock, then published.

One place owns the order that makes the journal the truth: the journal operation commits
first, then its events go to this process's subscribers (``EventFeed``). The flows write
only through here — a record changed by a decision, many records in one transaction, a note
appended, a channel's outcome applied through the one resolution policy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import partial

from paychannels.collector.feed import EventFeed
from paychannels.collector.resolution import resolve
from paychannels.journal import Change, Journal, NewRecord, StateWrite
from paychannels.journal.base import Applied, Decide
from paychannels.runtime.clock import Clock
from paychannels.values.errors import PaychannelsError
from paychannels.values.models import Event, Outcome, Record

__all__ = ["JournalWriter"]

_CHUNK = 1000  # records per transaction in the bulk paths


class JournalWriter:
    """Writes to ``journal`` at ``clock``'s now and tells ``feed`` what was committed."""

    def __init__(self, journal: Journal, clock: Clock, feed: EventFeed) -> None:
        self.journal = journal
        self.clock = clock
        self.feed = feed

    def write(self, op: Callable[[datetime], Applied]) -> Applied:
        """Run one journal operation at now; its events are published once it committed."""
        applied = op(self.clock.now())
        self.publish(applied.events)
        return applied

    def write_many(
        self, op: Callable[[datetime], list[Applied | PaychannelsError]]
    ) -> list[Applied | PaychannelsError]:
        """A bulk operation at now: each item applied (and published) or its refusal.

        Items naming one record share one write (its changes merged) and so one ``Applied``:
        its events are published once, as they were written once."""
        results = op(self.clock.now())
        self._publish_applied(results)
        return results

    def _publish_applied(self, results: list[Applied | PaychannelsError]) -> None:
        published: set[int] = set()
        for item in results:
            if isinstance(item, Applied) and id(item) not in published:
                published.add(id(item))
                self.publish(item.events)

    def create(
        self, new: NewRecord, *, then: Sequence[Change] = (), state: StateWrite | None = None
    ) -> Applied:
        """Journal a new record (or find the one its key already made) and ``then`` changes,
        with a channel's ``state`` (its marker) in the same commit when the record is new."""
        return self.write(lambda now: self.journal.create(new, now=now, then=then, state=state))

    def create_many(
        self, news: Sequence[NewRecord], *, then: Sequence[Change] = ()
    ) -> list[Applied | PaychannelsError]:
        """``create`` for many records in one transaction."""
        return self.write_many(partial(_create_many, self.journal, news, then))

    def modify(self, record_id: str, decide: Decide) -> Record:
        """Change a record as ``decide`` says, under its row lock; the record as it now is."""
        return self.write(lambda now: self.journal.modify(record_id, decide, now=now)).record

    def modify_applied(self, record_id: str, decide: Decide) -> Applied:
        """``modify``, telling also which events it wrote (none: nothing changed)."""
        return self.write(lambda now: self.journal.modify(record_id, decide, now=now))

    def modify_all(self, items: Sequence[tuple[str, Decide]]) -> list[Applied | PaychannelsError]:
        """Many decided changes in one transaction; each item applied or its refusal."""
        return self.write_many(partial(_modify_many, self.journal, items))

    def modify_group(
        self, items: Sequence[tuple[str, Decide]], *, committed: Callable[[], None]
    ) -> list[Applied | PaychannelsError]:
        """``modify_all`` for a group commit: committed without a flush of its own, then made
        durable by one flush shared with the groups around it, outside the write lock
        (``Journal.one_flush``); published only then, so nothing is told of a credit that
        the disk does not hold yet. ``committed`` runs in between (the next group's turn)."""
        with self.journal.one_flush():
            results = _modify_many(self.journal, items, self.clock.now())
            committed()
        self._publish_applied(results)
        return results

    def annotate(self, record_id: str, change: Change) -> Record:
        """Append an event that changes no state (a note, a flag)."""
        return self.write(lambda now: self.journal.append(record_id, change, now=now)).record

    def apply_outcome(
        self,
        record_id: str,
        outcome: Outcome,
        *,
        via: str,
        notes: Sequence[Change] = (),
        attempt: int | None = None,
        answer: bool = False,
        known: Record | None = None,
    ) -> Record:
        """A channel's report through ``resolution.resolve``, ``notes`` first, one commit.

        ``answer``: the synchronous answer of a channel that can be asked again, committed
        by ``Journal.settle`` (under ``outcome_sync=lazy``, flushed by the next commit);
        ``known``: the record as this process last wrote it (the journal need not read it
        again if the row has not moved since)."""

        def decide(current: Record) -> list[Change]:
            return [*notes, *resolve(current, outcome, via=via, attempt=attempt)]

        if answer:
            return self.write(
                lambda now: self.journal.settle(record_id, decide, now=now, known=known)
            ).record
        return self.modify(record_id, decide)

    def apply_outcomes(
        self,
        items: Sequence[tuple[str, Outcome]],
        *,
        via: str,
        attempts: Mapping[str, int] | None = None,
    ) -> list[Record]:
        """``apply_outcome`` for many records, in chunks of one transaction each."""
        about = attempts or {}
        out: list[Record] = []
        for start in range(0, len(items), _CHUNK):
            chunk = items[start : start + _CHUNK]
            decisions: list[tuple[str, Decide]] = [
                (rid, partial(_resolved, outcome=outcome, via=via, attempt=about.get(rid)))
                for rid, outcome in chunk
            ]
            for item in self.modify_all(decisions):
                if isinstance(item, Applied):
                    out.append(item.record)
                else:
                    raise item
        return out

    def apply_dispatched(
        self, records: Sequence[Record], outcomes: Sequence[Outcome], *, via: str
    ) -> list[Record]:
        """A batch channel's outcomes for the records it was handed (as claimed): each
        resolved against the record as claimed, those alike applied set-based by the
        journal (a bank chunk's PENDING), the rest — and any row that moved since — by
        ``apply_outcomes``, which reads each row again."""
        known = [
            (r, resolve(r, o, via=via, attempt=r.attempt))
            for r, o in zip(records, outcomes, strict=True)
        ]
        now = self.clock.now()
        done = self.journal.modify_known(known, now=now)
        for item in done:
            if item is not None:
                self.publish(item.events)
        left = [(r.id, o) for r, o, d in zip(records, outcomes, done, strict=True) if d is None]
        rest = iter(self.apply_outcomes(left, via=via, attempts={r.id: r.attempt for r in records}))
        return [d.record if d is not None else next(rest) for d in done]

    def publish(self, events: Sequence[Event]) -> None:
        """Tell this process's subscribers about events already committed."""
        self.feed.publish(events)


def _create_many(
    journal: Journal, news: Sequence[NewRecord], then: Sequence[Change], now: datetime
) -> list[Applied | PaychannelsError]:
    return journal.create_many(news, now=now, then=then)


def _modify_many(
    journal: Journal, items: Sequence[tuple[str, Decide]], now: datetime
) -> list[Applied | PaychannelsError]:
    return journal.modify_many(items, now=now)


def _resolved(current: Record, *, outcome: Outcome, via: str, attempt: int | None) -> list[Change]:
    return resolve(current, outcome, via=via, attempt=attempt)
