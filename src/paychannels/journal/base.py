"""The journal interface: the source of truth for every payment, behind one API.

Every write is one atomic transaction that changes the current row *and* appends the event
that explains it, so the state can always be replayed from the events. Policy (what a
channel's answer means) lives in the Collector; the journal applies ``Change`` steps under
a row lock and enforces the state machine's guard as a last line of defence.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, NamedTuple

from pydantic import JsonValue

from paychannels.journal.feedbook import FeedEntry, FeedHeader, FeedNotRecorded, Pick
from paychannels.values.errors import PaychannelsError
from paychannels.values.models import Event, EventType, PaymentRequest, Record
from paychannels.values.money import Money
from paychannels.values.reasons import Reason
from paychannels.values.results import ResultRow
from paychannels.values.status import Status

__all__ = [
    "Applied",
    "Backlog",
    "BulkApplied",
    "Change",
    "Claim",
    "Journal",
    "LedgerRow",
    "NewRecord",
    "StateEntry",
    "StateWrite",
]


@dataclass(frozen=True, slots=True)
class Claim:
    """Who is dispatching a payment, and until when the claim holds without renewal."""

    owner: str
    until: datetime


@dataclass(frozen=True, slots=True)
class Change:
    """One step applied to a record with exactly one appended event.

    ``to_status`` None means an annotation (progress, receipt, note, attention) that does not
    move the state. Fields left None are kept as they are. ``attempt`` names the dispatch
    attempt a channel's answer is about: the journal refuses the step once the record has
    gone on to another attempt (an old answer must never land on a newer attempt).
    """

    event: EventType = EventType.STATUS
    to_status: Status | None = None
    data: dict[str, JsonValue] = field(default_factory=dict)
    amount_taken: Money | None = None
    channel_ref: str | None = None
    reason: Reason | None = None
    reason_detail: str | None = None
    attention: str | None = None
    channel_data: dict[str, JsonValue] | None = None
    claim: Claim | None = None
    release_claim: bool = False
    new_attempt: bool = False
    attempt: int | None = None


@dataclass(frozen=True, slots=True)
class NewRecord:
    """A payment or refund about to be journaled for the first time."""

    id: str
    kind: Literal["payment", "refund"]
    channel: str
    request: PaymentRequest
    fingerprint: str
    parent_id: str | None = None


@dataclass(frozen=True, slots=True)
class Applied:
    """The record after a write, and the events that write appended (empty if none)."""

    record: Record
    events: tuple[Event, ...] = ()
    created: bool = False
    #: whether the ``StateWrite`` handed to ``create`` was written with the record
    state_written: bool = False


@dataclass(frozen=True, slots=True)
class StateEntry:
    """A channel-state value (JSON) with its version for compare-and-set."""

    value: JsonValue
    version: int


@dataclass(frozen=True, slots=True)
class StateWrite:
    """A channel-state value written with a record's intent, if its version is still
    ``expected_version`` (compare-and-set; 0 = absent): a channel's marker that must be
    durable before its bytes leave costs no commit of its own."""

    scope: str
    key: str
    value: JsonValue
    expected_version: int


@dataclass(frozen=True, slots=True)
class BulkApplied:
    """One committed chunk of ``Journal.apply_results``.

    ``moved`` counts records moved per new status, ``unchanged`` rows that repeated what
    the journal already had, ``unmatched`` rows naming a payment it does not hold;
    ``leftovers`` are the rows the journal did not decide (odd transitions, mismatches, a
    payment named twice) for the Collector's policy. ``seqs`` is the first and last
    event appended (for subscribers; numbers between may be skipped), or None.
    """

    moved: dict[Status, int]
    unchanged: int
    taken_minor: int
    leftovers: list[ResultRow]
    seqs: tuple[int, int] | None = None
    unmatched: int = 0


@dataclass(frozen=True)
class Backlog:
    """One channel's records that wait for someone: what an operator alerts on."""

    channel: str
    unknown: int
    needs_attention: int
    #: DISPATCHED past its lease: a process died mid-dialogue and ``recover()`` has not run
    dispatched_overdue: int


class LedgerRow(NamedTuple):
    """One payment or refund as reconciliation reads it: the money columns, no objects.

    Reconciling a county (300,000 payers) reads every record; a ``Record`` with its
    validation, JSON columns and model costs ten times what these plain values do.
    ``status`` and ``reason`` are the stored texts; timestamps are aware UTC datetimes.
    """

    id: str
    kind: str
    parent_id: str | None
    channel: str
    status: str
    payer_id: str
    reference: str
    currency: str
    amount_minor: int
    taken_minor: int | None
    channel_ref: str | None
    reason: str | None
    attention: str | None
    operator: str | None
    created_at: datetime
    updated_at: datetime


Decide = Callable[[Record], Sequence[Change]]


class Journal(ABC):
    """Append-only payment journal with current state; SQLite and PostgreSQL implement it."""

    #: the URL it was opened from, with any password masked
    url: str
    #: whether opening it made a new journal (``open_journal(url, create=True)``)
    created: bool = False

    # -- schema -------------------------------------------------------------------------

    @abstractmethod
    def schema_version(self) -> int:
        """The version the database is at (0 for an empty database)."""

    @abstractmethod
    def migrate(self) -> tuple[int, int]:
        """Bring the schema to this library's version; returns (from, to)."""

    @abstractmethod
    def check_schema(self) -> None:
        """Raise ``SchemaOutdated`` or ``SchemaTooNew`` unless the schema is exactly current."""

    # -- writes ---------------------------------------------------------------------------

    @abstractmethod
    def create(
        self,
        new: NewRecord,
        *,
        now: datetime,
        then: Sequence[Change] = (),
        state: StateWrite | None = None,
    ) -> Applied:
        """Journal a new record (CREATED), or return the one with the same idempotency key.

        Raises ``IdempotencyConflict`` when the key exists with a different request and
        ``AlreadyInDoubt`` when another attempt for the same obligation is still open.
        ``then`` and ``state`` are written in the same transaction, only when the record is
        new; a ``state`` whose version moved is not written (``Applied.state_written``).
        """

    @abstractmethod
    def modify(self, record_id: str, decide: Decide, *, now: datetime) -> Applied:
        """Lock the record, call ``decide(current)`` and apply the returned changes atomically."""

    def settle(
        self, record_id: str, decide: Decide, *, now: datetime, known: Record | None = None
    ) -> Applied:
        """``modify`` for a synchronous channel's answer, which recovery can learn again by
        asking the channel: under ``outcome_sync=lazy`` it may commit without its own flush
        (the next flushed commit carries it; docs/state-machine.md, "Durability").
        ``known``: the record as the caller's own last write left it; a journal may decide
        on it without reading the row again if the row has not moved since (its version)."""
        return self.modify(record_id, decide, now=now)

    @contextmanager
    def one_flush(self) -> Iterator[None]:
        """Commits of this thread inside the block may skip their own flush; when the block
        ends without an error, one flush (shared with other threads') has made them all
        durable — taken outside the write lock, so the next writer need not wait for the
        disk (group commit, ``journal.logsync``). Tell nobody of them before it ends. Here
        every commit is flushed as it is made: nothing to defer."""
        yield

    @abstractmethod
    def create_many(
        self, news: Sequence[NewRecord], *, now: datetime, then: Sequence[Change] = ()
    ) -> list[Applied | PaychannelsError]:
        """``create`` for many records in one transaction (batch files, bulk imports).

        An item the journal refuses (``IdempotencyConflict``, ``AlreadyInDoubt``) comes back as
        that error in its place; the others are committed.
        """

    @abstractmethod
    def modify_many(
        self, items: Sequence[tuple[str, Decide]], *, now: datetime
    ) -> list[Applied | PaychannelsError]:
        """``modify`` for many records in one transaction; refused items come back as errors."""

    def modify_known(
        self, items: Sequence[tuple[Record, Sequence[Change]]], *, now: datetime
    ) -> list[Applied | None]:
        """Apply each record's changes to it as the caller read it, in one statement for
        records the changes treat alike (a batch's one answer); ``None`` for every item left
        to ``modify_many`` (its row moved since it was read, it is not alike). This default
        leaves them all."""
        return [None] * len(items)

    def apply_results(
        self,
        rows: Iterable[ResultRow],
        *,
        channel: str,
        via: str,
        now: datetime,
        unknown: Callable[[int, list[ResultRow]], None] | None = None,
    ) -> Iterator[BulkApplied]:
        """Apply a bulk report's rows: the plain forward moves here, the rest as leftovers.

        ``rows`` is consumed completely before anything is written, so a report that fails
        while being read changes nothing. ``unknown`` is then called, before any write, with
        how many rows name a payment the journal does not hold and the first few of those
        rows (if any): raising there refuses the report whole. A move is applied exactly as
        ``resolve`` would apply it (same columns, same event); this default decides nothing
        and hands every row back, which is always correct, only slower. Chunks commit one
        by one.
        """
        staged = list(rows)
        for start in range(0, len(staged), 2000):
            yield BulkApplied({}, 0, 0, staged[start : start + 2000])

    @abstractmethod
    def append(self, record_id: str, change: Change, *, now: datetime) -> Applied:
        """Append an annotation event (progress, note) without touching the record's row."""

    # -- reads ----------------------------------------------------------------------------

    @abstractmethod
    def get(self, record_id: str) -> Record:
        """The current record; ``PaymentNotFound`` if there is none."""

    @abstractmethod
    def get_by_key(self, idempotency_key: str) -> Record | None:
        """The record created with this idempotency key, if any."""

    @abstractmethod
    def find(
        self,
        *,
        statuses: Iterable[Status] | None = None,
        channel: str | None = None,
        kind: Literal["payment", "refund"] | None = None,
        payer_id: str | None = None,
        reference: str | None = None,
        channel_ref: str | None = None,
        parent_id: str | None = None,
        attention: bool | None = None,
        claimed: bool | None = None,
        after_id: str | None = None,
        limit: int = 100,
    ) -> list[Record]:
        """Records matching every given filter, in id (creation) order, after ``after_id``
        (``claimed``: whether a process holds a claim on it — a dispatch, or a void)."""

    @abstractmethod
    def events(
        self, *, after: int = 0, record_id: str | None = None, limit: int = 1000
    ) -> list[Event]:
        """Events with ``seq > after`` in order, optionally for one record."""

    def scan_ledger(
        self, *, page: int = 5000, channels: Collection[str] | None = None
    ) -> Iterator[list[LedgerRow]]:
        """Every payment and refund as a ``LedgerRow`` (only ``channels``' when given), in
        pages, in no particular order.

        SQL backends stream them from one read transaction (a consistent snapshot while
        payments go on), in storage order; this default pages through ``find``, which is
        slower and is not one snapshot.
        """
        after: str | None = None
        while True:
            records = self.find(after_id=after, limit=page)
            if records:
                rows = [_ledger_row(r) for r in records]
                yield rows if channels is None else [r for r in rows if r.channel in channels]
            if len(records) < page:
                return
            after = records[-1].id

    @abstractmethod
    def state_items(self, prefix: str) -> list[tuple[str, str, StateEntry]]:
        """Every channel-state value whose key starts with ``prefix``, as (scope, key,
        entry), ordered by scope and key (e.g. the settlement figures channels recorded)."""

    @abstractmethod
    def count_by_status(self, *, channel: str | None = None) -> dict[Status, int]:
        """How many records are in each status."""

    @abstractmethod
    def backlog(self, *, now: datetime) -> list[Backlog]:
        """Per channel, the records a person or ``recover()`` must see to, by name order.

        Cheap enough for a metrics scrape: one indexed query over the few open statuses.
        """

    # -- the departments' feeds (docs/feeds.md) -----------------------------------------------

    def record_feed(
        self,
        feed_id: str,
        *,
        insurance: str,
        day: str,
        cutoff: datetime,
        made_at: datetime,
        currency: str,
        pick: Pick,
    ) -> FeedHeader:
        """Record a feed and the movements before ``cutoff`` no feed carried that ``pick``
        keeps, in one transaction; a feed already recorded is returned as it was
        (``created`` False). ``FeedOutOfOrder`` for a day before one already recorded."""
        raise FeedNotRecorded(f"journal {self.url} keeps no feeds")

    def feed_entries(self, feed_id: str, *, page: int = 5000) -> Iterator[list[FeedEntry]]:
        """A recorded feed's lines in their order, in pages."""
        raise FeedNotRecorded(f"journal {self.url} keeps no feeds")

    def feed_written(
        self, feed_id: str, *, file_format: str, checksum: str, now: datetime
    ) -> FeedHeader:
        """Note the first file written for a feed (later calls change nothing); the header."""
        raise FeedNotRecorded(f"journal {self.url} keeps no feeds")

    def feeds(self, *, insurance: str | None = None) -> list[FeedHeader]:
        """The recorded feeds, by day."""
        return []

    # -- cross-process coordination -----------------------------------------------------------

    @abstractmethod
    def acquire_lock(self, name: str, owner: str, *, until: datetime, now: datetime) -> bool:
        """Take (or renew) a named lock unless another owner holds an unexpired one."""

    @abstractmethod
    def release_lock(self, name: str, owner: str) -> None:
        """Give a lock back (only its owner can)."""

    @abstractmethod
    def lock_owner(self, name: str) -> str | None:
        """Who holds a named lock now (expired or not), or None."""

    @abstractmethod
    def locks(self) -> dict[str, Claim]:
        """Every named lock row (held, or left behind): its owner and lease, by name."""

    @abstractmethod
    def expire_locks(self, *, now: datetime) -> list[str]:
        """Remove locks whose lease ended before ``now``; their names.

        An expired lock already binds no one; removing it keeps ``pc_locks`` to what is held.
        """

    @abstractmethod
    def state_get(self, scope: str, key: str) -> StateEntry | None:
        """A channel's persisted value (trace numbers, ledgers, cursors)."""

    @abstractmethod
    def state_put(
        self, scope: str, key: str, value: JsonValue, *, expected_version: int, now: datetime
    ) -> bool:
        """Write if the stored version is ``expected_version`` (0 = absent); False if not."""

    @abstractmethod
    def state_next(self, scope: str, key: str, *, now: datetime, start: int = 1) -> int:
        """Atomically increment and return a counter (first call returns ``start``)."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""

    # -- derived ----------------------------------------------------------------------------

    def verify(self, record_id: str) -> list[str]:
        """Replay a record's events and list every disagreement with its current state
        (this default: the status chain; SQL journals: every column, see ``replay``)."""
        record = self.get(record_id)
        problems: list[str] = []
        status: Status | None = None
        for ev in self.events(record_id=record_id, limit=1_000_000):
            if ev.to_status is None:
                continue
            if ev.from_status != status:
                problems.append(f"event {ev.seq}: from {ev.from_status} but the state was {status}")
            status = ev.to_status
        if status != record.status:
            problems.append(f"events end in {status} but the record says {record.status}")
        return problems

    def audit(self, *, page: int = 1000) -> Iterator[tuple[str, list[str]]]:
        """``verify`` for every record, as (id, problems) — also for events whose record's
        row is gone. SQL journals replay every column from one snapshot; this default
        replays the status chain of each record ``find`` returns."""
        after: str | None = None
        while True:
            records = self.find(after_id=after, limit=page)
            for record in records:
                yield record.id, self.verify(record.id)
            if len(records) < page:
                return
            after = records[-1].id

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _ledger_row(r: Record) -> LedgerRow:
    return LedgerRow(
        r.id,
        r.kind,
        r.parent_id,
        r.channel,
        r.status.value,
        r.payer_id,
        r.reference,
        r.amount.currency.code,
        r.amount.minor,
        None if r.amount_taken is None else r.amount_taken.minor,
        r.channel_ref,
        None if r.reason is None else r.reason.value,
        r.attention,
        r.operator,
        r.created_at,
        r.updated_at,
    )
