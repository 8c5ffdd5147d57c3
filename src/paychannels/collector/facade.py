"""The Collector: the one payment interface backends talk to.

It owns the journal, idempotency, the state machine, recovery of in-doubt payments and the
event stream. The order of writes is the whole safety argument:

1. the intent and the DISPATCHED mark (with a claim naming this process) are committed
   together *before* the channel is touched;
2. the channel's report is applied through ``resolution.resolve`` under a row lock;
3. anything interrupted in between is found by ``recover()`` (a DISPATCHED row whose
   claimant is dead or whose lease ran out) and resolved by asking the channel — never by
   sending again.

The Collector is the front door; each flow has its own room: ``dispatch`` (claim, then
hand to the channel), ``intake`` (callbacks, notices, result files), ``recovery``,
``reversals`` (refund, cancel), ``collector_context`` (what adapters may ask of us) and
``feed`` (subscribers). Those modules use the Collector's private plumbing (``_write``,
``_modify_all``, ``_inquire``); nothing outside the package should.
"""

from __future__ import annotations

import functools
import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Concatenate, ParamSpec, TypeVar

from paychannels.channels.base import Channel, ChannelContext, Notice, Reply
from paychannels.channels.registry import open_channel
from paychannels.clock import Clock, SystemClock
from paychannels.collector import dispatch, intake, recovery, reversals
from paychannels.collector.context import CollectorContext
from paychannels.collector.feed import EventFeed, ProgressWatcher, Subscriber
from paychannels.collector.inflight import Gate
from paychannels.collector.intake import CallbackCounts, PollResult
from paychannels.collector.recovery import RecoveryReport
from paychannels.collector.results import apply_report
from paychannels.crashpoints import crashpoint
from paychannels.errors import (
    ConfigurationError,
    IllegalTransition,
    InvalidRequest,
    PaychannelsError,
)
from paychannels.ids import Owner, new_id
from paychannels.journal import Change, Journal, NewRecord, open_journal
from paychannels.journal.base import Applied, Decide
from paychannels.locks import LockTable
from paychannels.masking import scrub
from paychannels.models import (
    Event,
    EventType,
    Outcome,
    Payment,
    PaymentRequest,
    Record,
    Refund,
    as_payment,
)
from paychannels.money import Money
from paychannels.querylimit import QueryLimiter
from paychannels.reasons import Reason
from paychannels.resolution import attention, resolve
from paychannels.results import Report, ReportSummary
from paychannels.status import TRANSITIONS, Status

__all__ = ["Collector", "PollResult", "RecoveryReport"]

log = logging.getLogger("paychannels.collector")

_CHUNK = 1000  # records per transaction in the bulk paths
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _admitted(
    method: Callable[Concatenate[Collector, _P], _R],
) -> Callable[Concatenate[Collector, _P], _R]:
    """A public verb: refused with ``CollectorClosed`` once closing began, else counted as
    in flight until it returns, so ``close()`` can wait for it."""

    @functools.wraps(method)
    def verb(self: Collector, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        self._gate.enter()
        try:
            return method(self, *args, **kwargs)
        finally:
            self._gate.leave()

    return verb


class Collector:
    """Collect payments through named channels, journaled, idempotent and recoverable."""

    def __init__(
        self,
        journal: Journal,
        *,
        clock: Clock | None = None,
        attention_after: timedelta = timedelta(hours=24),
        lock_linger: float = 1.0,
        close_timeout: float = 30.0,
    ) -> None:
        if not (isinstance(close_timeout, int | float) and math.isfinite(close_timeout)) or (
            close_timeout < 0
        ):
            raise ConfigurationError(
                f"close_timeout must be a number of seconds >= 0, not {close_timeout!r}"
            )
        self.journal = journal
        self.clock: Clock = clock or SystemClock()
        self.attention_after = attention_after
        self.close_timeout = float(close_timeout)
        self._owner = Owner()
        self.locks = LockTable(
            journal, self._owner, self.clock, owner_alive=self.owner_alive, linger=lock_linger
        )
        self._channels: dict[str, Channel] = {}
        self.feed = EventFeed()
        #: what callbacks cost (refused, hints, queries); the per-payment query limit
        self.callback_counts = CallbackCounts()
        self.query_limiter = QueryLimiter()
        self._gate = Gate(on_drained=self._release)

    @property
    def owner(self) -> str:
        """This Collector's name on claims and locks, ``host/pid/token``; a forked child
        gets its own."""
        return self._owner.name

    @classmethod
    def open(
        cls,
        url: str,
        *,
        create: bool = False,
        migrate: bool = True,
        clock: Clock | None = None,
        attention_after: timedelta = timedelta(hours=24),
        lock_linger: float = 1.0,
        close_timeout: float = 30.0,
    ) -> Collector:
        """Open the journal at ``url`` (migrating its schema unless told not to).

        A place without a journal is ``JournalUnavailable("no journal at …")``: a backend that
        silently started afresh on an emptied file would retry its keys and charge everyone
        again. ``create=True`` starts a new journal, only where none is (see ``open_journal``).
        ``close_timeout``: how long ``close()`` waits for calls in flight.
        """
        journal = open_journal(url, create=create)
        try:
            if migrate:
                journal.migrate()
            else:
                journal.check_schema()
        except BaseException:
            journal.close()
            raise
        return cls(
            journal,
            clock=clock,
            attention_after=attention_after,
            lock_linger=lock_linger,
            close_timeout=close_timeout,
        )

    # -- channels -------------------------------------------------------------------------

    def add_channel(self, name: str, channel: Channel | str, **options: Any) -> Channel:
        """Register a channel under a name (a Channel, or a URL opened with ``options``)."""
        if not _NAME.match(name):
            raise ConfigurationError(
                f"channel name {name!r} must be 1-64 letters, digits, '.', '_' or '-'"
            )
        if isinstance(channel, str):
            channel = open_channel(channel, **options)
        elif options:
            raise TypeError("options are only for channels given as a URL")
        self._channels[name] = channel
        return channel

    def channel(self, name: str) -> Channel:
        """The channel registered under ``name``."""
        try:
            return self._channels[name]
        except KeyError:
            known = ", ".join(sorted(self._channels)) or "none yet"
            raise ConfigurationError(
                f"no channel named {name!r}; added channels: {known}"
            ) from None

    def channel_context(self, name: str) -> ChannelContext:
        """A context for a channel's own work outside a payment (a terminal's end of day, a
        bank's ledger for the ``batch`` commands): the same lock, state and clock its
        payments use."""
        self.channel(name)
        return CollectorContext(self, name, None)

    @property
    def channels(self) -> Mapping[str, Channel]:
        """The registered channels by name."""
        return dict(self._channels)

    # -- collect ----------------------------------------------------------------------------

    @_admitted
    def collect(self, request: PaymentRequest, channel: str, *, defer: bool = False) -> Payment:
        """Take a payment through a channel; with the same idempotency key, the same payment.

        Returns when the channel has answered (SUCCEEDED, DECLINED, PENDING...) or the outcome
        is known to be unknown (UNKNOWN: call ``recover()``). ``defer`` only journals the intent
        (CREATED) for ``dispatch_pending`` to send later.
        """
        if not isinstance(request, PaymentRequest):
            raise TypeError(f"collect() takes a PaymentRequest, not {type(request).__name__}")
        ch = self.channel(channel)
        crashpoint("collect.before_intent")
        new = NewRecord(
            id=new_id("pay"),
            kind="payment",
            channel=channel,
            request=request,
            fingerprint=request.fingerprint(channel),
        )
        then = [] if defer else [dispatch.claim_change(self, ch)]
        applied = self._write(lambda now: self.journal.create(new, now=now, then=then))
        crashpoint("collect.after_dispatch_mark")
        record = applied.record
        if defer:
            return as_payment(record)
        if not applied.created:
            claimed = dispatch.claim(self, record, ch)
            if claimed is None:
                return as_payment(self.journal.get(record.id))
            record = claimed
        return as_payment(dispatch.dispatch(self, record, ch))

    @_admitted
    def collect_many(
        self, requests: Sequence[PaymentRequest], channel: str, *, defer: bool = False
    ) -> list[Payment | PaychannelsError]:
        """``collect`` for many requests, journaled in chunks of one transaction each.

        On a batch channel (bank debit) the claimed payments go out together through
        ``start_batch``; elsewhere one by one. Refused requests come back as their error.
        """
        ch = self.channel(channel)
        results: list[Payment | PaychannelsError] = []
        for start in range(0, len(requests), _CHUNK):
            chunk = requests[start : start + _CHUNK]
            news = [
                NewRecord(
                    id=new_id("pay"),
                    kind="payment",
                    channel=channel,
                    request=r,
                    fingerprint=r.fingerprint(channel),
                )
                for r in chunk
            ]
            then = [] if defer else [dispatch.claim_change(self, ch)]
            applied = self._write_many(partial(_create_many, self.journal, news, then))
            claimed = [a.record for a in applied if isinstance(a, Applied) and a.created]
            latest = (
                {r.id: r for r in dispatch.dispatch_all(self, claimed, ch)}
                if claimed and not defer
                else {}
            )
            for item in applied:
                if isinstance(item, Applied):
                    results.append(as_payment(latest.get(item.record.id, item.record)))
                else:
                    results.append(item)
        return results

    @_admitted
    def dispatch_pending(self, *, channel: str | None = None, limit: int = 100) -> list[Record]:
        """Send deferred (CREATED) payments; safe to run in many processes at once."""
        done: list[Record] = []
        found = self.journal.find(statuses=[Status.CREATED], channel=channel, limit=limit)
        by_channel: dict[str, list[Record]] = {}
        for record in found:
            if record.channel in self._channels:
                by_channel.setdefault(record.channel, []).append(record)
        for name, records in by_channel.items():
            ch = self._channels[name]
            if ch.capabilities.batch:
                claimed = dispatch.claim_all(self, records, ch)
                done.extend(dispatch.dispatch_all(self, claimed, ch))
                continue
            for record in records:
                one = dispatch.claim(self, record, ch)
                if one is not None:
                    done.append(dispatch.dispatch(self, one, ch))
        return done

    # -- reading ------------------------------------------------------------------------------

    @_admitted
    def status(self, record_id: str) -> Record:
        """The current state of a payment or refund."""
        return self.journal.get(record_id)

    @_admitted
    def find(self, /, **filters: Any) -> list[Record]:
        """Records by status, channel, payer, reference... (see ``Journal.find``)."""
        return self.journal.find(**filters)

    @_admitted
    def events(
        self, *, after: int = 0, payment_id: str | None = None, limit: int = 1000
    ) -> list[Event]:
        """Journal events in order; pass the last seen ``seq`` as ``after`` to tail."""
        return self.journal.events(after=after, record_id=payment_id, limit=limit)

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(event)`` after each event this process commits; returns unsubscribe."""
        return self.feed.subscribe(callback)

    def watch_progress(self, callback: ProgressWatcher) -> Callable[[], None]:
        """Call ``callback(payment_id, data)`` the moment a channel reports progress.

        Progress events reach the journal (and ``subscribe`` callbacks) with the verb's
        outcome; this is the live feed for a cashier's screen. Returns an unsubscribe.
        """
        return self.feed.watch_progress(callback)

    # -- applying what channels report -------------------------------------------------------

    @_admitted
    def apply_outcome(
        self,
        record_id: str,
        outcome: Outcome,
        *,
        via: str,
        notes: Sequence[Change] = (),
        attempt: int | None = None,
    ) -> Record:
        """Apply a channel's report to a record, forward-only (see ``resolution.resolve``).

        ``notes`` (the verb's progress events) are journaled first, in the same commit.
        ``attempt`` is the dispatch attempt the report is about: if the record has gone on
        to another one meanwhile, the report is only recorded.
        """
        return self._write(
            lambda now: self.journal.modify(
                record_id,
                lambda current: [*notes, *resolve(current, outcome, via=via, attempt=attempt)],
                now=now,
            )
        ).record

    @_admitted
    def apply_outcomes(
        self,
        items: Sequence[tuple[str, Outcome]],
        *,
        via: str,
        attempts: Mapping[str, int] | None = None,
    ) -> list[Record]:
        """``apply_outcome`` for many records (``attempts``: the attempt each report is
        about, by record id), in chunks of one transaction each."""
        about = attempts or {}
        out: list[Record] = []
        for start in range(0, len(items), _CHUNK):
            chunk = items[start : start + _CHUNK]
            decisions: list[tuple[str, Decide]] = [
                (rid, partial(_resolved, outcome=outcome, via=via, attempt=about.get(rid)))
                for rid, outcome in chunk
            ]
            for item in self._modify_all(decisions):
                if isinstance(item, Applied):
                    out.append(item.record)
                else:
                    raise item
        return out

    @_admitted
    def flag_attention(self, record_id: str, text: str, reason: Reason = Reason.OTHER) -> Record:
        """Ask a person to look at a record (NEEDS_ATTENTION where allowed, else a flag)."""
        return self._write(
            lambda now: self.journal.modify(
                record_id, lambda current: attention(current, text, reason), now=now
            )
        ).record

    @_admitted
    def settle_manually(
        self,
        record_id: str,
        status: Status,
        *,
        operator: str,
        note: str,
        amount_taken: Money | None = None,
    ) -> Record:
        """Record a person's decision (typically on NEEDS_ATTENTION), with who and why."""
        if not operator.strip() or not note.strip():
            raise InvalidRequest("a manual decision needs the operator's name and a note")

        def decide(current: Record) -> list[Change]:
            if status not in TRANSITIONS[current.status]:
                raise IllegalTransition(
                    f"{record_id}: cannot settle {current.status} as {status} by hand"
                )
            taken = amount_taken or (current.amount if status is Status.SUCCEEDED else None)
            return [
                Change(
                    to_status=status,
                    amount_taken=taken,
                    attention="",
                    data={"via": "manual", "operator": operator, "note": note},
                )
            ]

        return self._write(lambda now: self.journal.modify(record_id, decide, now=now)).record

    # -- news that arrives unasked (intake.py) ------------------------------------------------

    @_admitted
    def handle_notice(self, channel: str, notice: Notice) -> Record | None:
        """Apply unasked news (callback, result-file row); unverified news triggers a query."""
        return intake.handle_notice(self, channel, notice)

    @_admitted
    def handle_notices(self, channel: str, notices: Sequence[Notice]) -> list[Record | None]:
        """``handle_notice`` for many (a result file): verified ones in chunked transactions."""
        return intake.handle_notices(self, channel, notices)

    @_admitted
    def handle_callback(self, channel: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """Verify a provider's callback on its raw bytes, apply it, and build the reply."""
        return intake.handle_callback(self, channel, headers, body)

    @_admitted
    def poll(self, channel: str) -> PollResult:
        """Run a batch channel's periodic work and apply what it found.

        Notices go through ``handle_notices``; bulk reports (result files) through
        ``apply_report``, each all-or-nothing and acknowledged to the channel.
        """
        return intake.poll(self, channel)

    @_admitted
    def apply_report(self, channel: str, report: Report) -> ReportSummary:
        """Apply a bulk report (a result file) to the journal: every row, or none if it
        cannot be read; then tell the report (``applied`` / ``rejected``)."""
        self.channel(channel)
        return apply_report(self, channel, report)

    def _inquire(self, record: Record, ch: Channel, *, via: str) -> Record:
        ctx = CollectorContext(self, record.channel, record.id)
        try:
            outcome = ch.inquire(record, ctx)
        except Exception as exc:  # the question did not get through: we learned nothing
            detail = scrub(f"{type(exc).__name__}: {exc}")
            log.info("%s: inquiry failed: %s", record.id, detail)
            note = Change(event=EventType.NOTE, data={"text": f"inquiry failed: {detail}"})
            changes = [*ctx.held(), note]
            return self._write(
                lambda now: self.journal.modify(record.id, lambda _current: changes, now=now)
            ).record
        crashpoint("recover.after_inquiry")
        held = ctx.held()
        attempt = record.attempt  # the answer is about the attempt we asked about
        if not held and not resolve(record, outcome, via=via, attempt=attempt):
            # nothing to change as of what we read (a PENDING order still pending): no write;
            # had the record moved meanwhile, its writer handled it and we learned nothing new
            return record
        return self.apply_outcome(record.id, outcome, via=via, notes=held, attempt=attempt)

    # -- refund and cancel (reversals.py) ------------------------------------------------------

    @_admitted
    def refund(
        self,
        payment_id: str,
        amount: Money | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Refund:
        """Give money back for a succeeded payment; a refund is a child record.

        Without ``amount`` the whole remaining amount is refunded. Without ``idempotency_key``
        a repeated call for the same amount is treated as a retry, never a second refund.
        """
        return reversals.refund(self, payment_id, amount, idempotency_key=idempotency_key)

    @_admitted
    def cancel(self, record_id: str) -> Record:
        """Stop a payment: withdraw an unsent one, close a pending one, void a succeeded one."""
        return reversals.cancel(self, record_id)

    # -- recovery (recovery.py) ----------------------------------------------------------------

    @_admitted
    def recover(self, *, channel: str | None = None) -> RecoveryReport:
        """Resolve interrupted, UNKNOWN and PENDING records by asking their channels.

        PENDING payments of batch channels are left to ``poll()``: their results come in
        files, and asking about each of 300,000 debits in a sent file would teach nothing.
        """
        return recovery.recover(self, channel=channel)

    def owner_alive(self, owner: str) -> bool:
        """Whether the process named by a claim or lock owner may still be running."""
        return recovery.owner_alive(self, owner)

    # -- plumbing ------------------------------------------------------------------------------

    def _write(self, op: Callable[[datetime], Applied]) -> Applied:
        applied = op(self.clock.now())
        self._publish(applied.events)
        return applied

    def _write_many(
        self, op: Callable[[datetime], list[Applied | PaychannelsError]]
    ) -> list[Applied | PaychannelsError]:
        results = op(self.clock.now())
        for item in results:
            if isinstance(item, Applied):
                self._publish(item.events)
        return results

    def _modify_all(self, items: Sequence[tuple[str, Decide]]) -> list[Applied | PaychannelsError]:
        """Many decided changes in one transaction; each item applied or its refusal."""
        return self._write_many(partial(_modify_many, self.journal, items))

    def _annotate(self, record_id: str, change: Change) -> Record:
        return self._write(lambda now: self.journal.append(record_id, change, now=now)).record

    def _publish(self, events: Sequence[Event]) -> None:
        self.feed.publish(events)

    def close(self, timeout: float | None = None) -> None:
        """Refuse new calls (``CollectorClosed``), wait up to ``timeout`` seconds (default
        ``close_timeout``) for calls in flight, then close channels, locks and the journal.

        Calls still running after that are left to finish: the last one to end closes
        what is left. Nothing is closed under a thread that uses it. Safe to call twice.
        """
        still = self._gate.close(self.close_timeout if timeout is None else timeout)
        if still:
            log.warning(
                "closing: %d call(s) still in flight; the last to end closes the journal",
                still,
            )

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called (new calls are refused)."""
        return self._gate.closed

    def _release(self) -> None:
        """The rest of closing, once no call is in flight."""
        for ch in self._channels.values():
            try:
                ch.close()
            except Exception as exc:
                log.warning("closing channel %s failed: %s", ch.describe(), scrub(str(exc)))
        self.locks.release_all()
        self.journal.close()
        self._owner.retire()

    def __enter__(self) -> Collector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
