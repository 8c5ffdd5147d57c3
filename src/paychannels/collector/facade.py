"""The Collector: the one payment interface backends talk to.

It owns the journal, idempotency, the state machine, recovery of in-doubt payments and the
event stream. The order of writes is the whole safety argument:

1. the intent and the DISPATCHED mark (with a claim naming this process) are committed
   together *before* the channel is touched;
2. the channel's report is applied through ``resolution.resolve`` under a row lock;
3. anything interrupted in between is found by ``recover()`` (a DISPATCHED row whose
   claimant is dead or whose lease ran out) and resolved by asking the channel — never by
   sending again.

The Collector is the front door and nothing more: each public verb passes its gate
(``inflight.Gate``) and hands over to a collaborator with a public surface of its own — the
``JournalWriter`` (every write, then the feed), the ``ChannelSet``, the ``Contexts`` adapters
get, and one class per flow: ``Dispatcher``, ``Intake``, ``Recovery``, ``Reversals``,
``BulkResults``. None of them knows the Collector.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from functools import partial
from os import PathLike
from typing import Any, Concatenate, ParamSpec, TypeVar

from paychannels.channels.base import Channel, ChannelContext, Notice, Reply
from paychannels.collector.channelset import ChannelSet
from paychannels.collector.context import Contexts
from paychannels.collector.dispatch import Dispatcher
from paychannels.collector.feed import EventFeed, ProgressWatcher, Subscriber
from paychannels.collector.inflight import Gate
from paychannels.collector.inquiry import Inquirer
from paychannels.collector.intake import CallbackCounts, Intake, PollResult
from paychannels.collector.querylimit import QueryLimiter
from paychannels.collector.recovery import Recovery, RecoveryReport, owner_alive
from paychannels.collector.resolution import attention, manual
from paychannels.collector.results import BulkResults
from paychannels.collector.reversals import Reversals
from paychannels.collector.verbs import VerbHook, Verbs
from paychannels.collector.voids import Voids
from paychannels.collector.writer import JournalWriter
from paychannels.config import Deployment, load_config
from paychannels.journal import Change, Journal, open_journal
from paychannels.journal.locks import LockTable
from paychannels.runtime.clock import Clock, SystemClock
from paychannels.runtime.ids import Owner
from paychannels.values.errors import (
    ConfigurationError,
    InvalidRequest,
    PaychannelsError,
)
from paychannels.values.models import (
    Event,
    Outcome,
    Payment,
    PaymentRequest,
    Record,
    Refund,
)
from paychannels.values.money import Money
from paychannels.values.reasons import Reason
from paychannels.values.results import Report, ReportSummary
from paychannels.values.status import Status

__all__ = ["Collector", "PollResult", "RecoveryReport"]

log = logging.getLogger("paychannels.collector")

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
        self.close_timeout = float(close_timeout)
        self._owner = Owner()
        self.locks = LockTable(
            journal,
            self._owner,
            self.clock,
            owner_alive=partial(owner_alive, self._owner),
            linger=lock_linger,
        )
        self._channels = ChannelSet()
        self.feed = EventFeed()
        #: what callbacks cost (refused, hints, queries); the per-payment query limit
        self.callback_counts = CallbackCounts()
        self.query_limiter = QueryLimiter()
        self._gate = Gate(on_drained=self._release)
        self._writer = JournalWriter(journal, self.clock, self.feed)
        self._contexts = Contexts(journal, self.clock, self.feed, self.locks, self._channels)
        self._verbs = Verbs()
        inquirer = Inquirer(self._writer, self._contexts, self._verbs)
        self._dispatcher = Dispatcher(
            journal, self._writer, self.clock, self._owner, self._channels, self._contexts
        )
        self._results = BulkResults(journal, self._writer, self.clock)
        voids = Voids(journal, self._writer, self._contexts, self._dispatcher, self.clock)
        self._intake = Intake(
            journal,
            self._writer,
            self._channels,
            self._contexts,
            inquirer,
            self._results,
            self.callback_counts,
            self.query_limiter,
        )
        self._recovery = Recovery(
            journal,
            self._writer,
            self.clock,
            self._owner,
            self._channels,
            inquirer,
            voids,
            attention_after=attention_after,
        )
        self._reversals = Reversals(
            journal, self._writer, self._channels, self._contexts, self._dispatcher, voids
        )

    @property
    def owner(self) -> str:
        """This Collector's name on claims and locks, ``host/pid/token``; a forked child
        gets its own."""
        return self._owner.name

    @property
    def attention_after(self) -> timedelta:
        """How long UNKNOWN may last with no word from the channel before ``recover()``
        asks a person (NEEDS_ATTENTION)."""
        return self._recovery.attention_after

    @attention_after.setter
    def attention_after(self, value: timedelta) -> None:
        self._recovery.attention_after = value

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

    @classmethod
    def from_config(
        cls,
        config: str | PathLike[str] | Deployment,
        *,
        db: str | None = None,
        create: bool | None = None,
        migrate: bool = True,
        clock: Clock | None = None,
    ) -> Collector:
        """Open the journal a ``paychannels.toml`` names and add every channel it lists.

        A new journal is made only where the file says ``create = true`` (or ``create``
        says so): a journal is created when asked, never by accident. ``db`` (a command's
        ``--db``) wins over the file's URL. A channel that fails to open closes what was
        opened and raises ``ChannelOpenError`` naming its table and line.
        """
        deployment = config if isinstance(config, Deployment) else load_config(config)
        if db is None:
            settings = deployment.journal_settings()
            db, create = settings.reveal(), settings.create if create is None else create
        collector = cls.open(db, create=bool(create), migrate=migrate, clock=clock)
        try:
            for name, channel in deployment.channels.items():
                try:
                    collector.add_channel(name, channel.url, **channel.open_options())
                except (PaychannelsError, TypeError, ValueError, OSError) as exc:
                    raise deployment.channel_failed(name, exc) from None
        except BaseException:
            collector.close()
            raise
        return collector

    # -- channels (ChannelSet) ----------------------------------------------------------------

    def add_channel(self, name: str, channel: Channel | str, **options: Any) -> Channel:
        """Register a channel under a name (a Channel, or a URL opened with ``options``)."""
        return self._channels.add(name, channel, **options)

    def channel(self, name: str) -> Channel:
        """The channel registered under ``name``."""
        return self._channels.get(name)

    def channel_context(self, name: str) -> ChannelContext:
        """A context for a channel's own work outside a payment (a terminal's end of day, a
        bank's ledger for the ``batch`` commands): the same lock, state and clock its
        payments use."""
        self._channels.get(name)
        return self._contexts.for_channel(name)

    @property
    def channels(self) -> Mapping[str, Channel]:
        """The registered channels by name."""
        return self._channels.snapshot()

    # -- collect (Dispatcher) -------------------------------------------------------------------

    @_admitted
    def collect(self, request: PaymentRequest, channel: str, *, defer: bool = False) -> Payment:
        """Take a payment through a channel; with the same idempotency key, the same payment.

        Returns when the channel has answered (SUCCEEDED, DECLINED, PENDING...) or the outcome
        is known to be unknown (UNKNOWN: call ``recover()``). ``defer`` only journals the intent
        (CREATED) for ``dispatch_pending`` to send later.
        """
        if not isinstance(request, PaymentRequest):
            raise TypeError(f"collect() takes a PaymentRequest, not {type(request).__name__}")
        with self._verbs.observe("defer" if defer else "collect", channel) as verb:
            payment = self._dispatcher.collect(request, channel, defer=defer)
            verb.done(payment)
        return payment

    @_admitted
    def collect_many(
        self, requests: Sequence[PaymentRequest], channel: str, *, defer: bool = False
    ) -> list[Payment | PaychannelsError]:
        """``collect`` for many requests, journaled in chunks of one transaction each.

        On a batch channel (bank debit) the claimed payments go out together through
        ``start_batch``; elsewhere one by one. Refused requests come back as their error.
        """
        with self._verbs.observe("collect_many", channel) as verb:
            results = self._dispatcher.collect_many(requests, channel, defer=defer)
            verb.done(count=len(results))
        return results

    @_admitted
    def dispatch_pending(self, *, channel: str | None = None, limit: int = 100) -> list[Record]:
        """Send deferred (CREATED) payments; safe to run in many processes at once."""
        with self._verbs.observe("dispatch_pending", channel) as verb:
            records = self._dispatcher.dispatch_pending(channel=channel, limit=limit)
            verb.done(count=len(records))
        return records

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

    def instrument(self, hook: VerbHook) -> Callable[[], None]:
        """Put ``hook`` around every channel verb (collect, refund, cancel, inquiry,
        recovery): metrics and traces hook in here. Returns its removal."""
        return self._verbs.hook(hook)

    def watch_progress(self, callback: ProgressWatcher) -> Callable[[], None]:
        """Call ``callback(payment_id, data)`` the moment a channel reports progress.

        Progress events reach the journal (and ``subscribe`` callbacks) with the verb's
        outcome; this is the live feed for a cashier's screen. Returns an unsubscribe.
        """
        return self.feed.watch_progress(callback)

    # -- applying what channels report (JournalWriter) ----------------------------------------

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
        return self._writer.apply_outcome(record_id, outcome, via=via, notes=notes, attempt=attempt)

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
        return self._writer.apply_outcomes(items, via=via, attempts=attempts)

    @_admitted
    def flag_attention(self, record_id: str, text: str, reason: Reason = Reason.OTHER) -> Record:
        """Ask a person to look at a record (NEEDS_ATTENTION where allowed, else a flag)."""
        return self._writer.modify(record_id, lambda current: attention(current, text, reason))

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
        """Record a person's decision (typically on NEEDS_ATTENTION), with who and why; on a
        settled payment with an attention flag, its state confirmed and the flag cleared."""
        if not operator.strip() or not note.strip():
            raise InvalidRequest("a manual decision needs the operator's name and a note")

        def decide(current: Record) -> list[Change]:
            return manual(current, status, operator=operator, note=note, amount_taken=amount_taken)

        return self._writer.modify(record_id, decide)

    # -- news that arrives unasked (Intake, BulkResults) ----------------------------------------

    @_admitted
    def handle_notice(self, channel: str, notice: Notice) -> Record | None:
        """Apply unasked news (callback, result-file row); unverified news triggers a query."""
        return self._intake.handle_notice(channel, notice)

    @_admitted
    def handle_notices(self, channel: str, notices: Sequence[Notice]) -> list[Record | None]:
        """``handle_notice`` for many (a result file): verified ones in chunked transactions."""
        return self._intake.handle_notices(channel, notices)

    @_admitted
    def handle_callback(self, channel: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """Verify a provider's callback on its raw bytes, apply it, and build the reply."""
        return self._intake.handle_callback(channel, headers, body)

    @_admitted
    def poll(self, channel: str) -> PollResult:
        """Run a batch channel's periodic work and apply what it found.

        Notices go through ``handle_notices``; bulk reports (result files) through
        ``apply_report``, each all-or-nothing and acknowledged to the channel.
        """
        return self._intake.poll(channel)

    @_admitted
    def apply_report(self, channel: str, report: Report) -> ReportSummary:
        """Apply a bulk report (a result file) to the journal: every row, or none if it
        cannot be read; then tell the report (``applied`` / ``rejected``)."""
        self._channels.get(channel)
        return self._results.apply(channel, report)

    # -- refund and cancel (Reversals) ----------------------------------------------------------

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
        with self._verbs.observe("refund", None, payment_id) as verb:
            refund = self._reversals.refund(payment_id, amount, idempotency_key=idempotency_key)
            verb.done(refund)
        return refund

    @_admitted
    def cancel(self, record_id: str) -> Record:
        """Stop a payment: withdraw an unsent one, close a pending one, void a succeeded one."""
        with self._verbs.observe("cancel", None, record_id) as verb:
            record = self._reversals.cancel(record_id)
            verb.done(record)
        return record

    # -- recovery (Recovery) --------------------------------------------------------------------

    @_admitted
    def recover(self, *, channel: str | None = None) -> RecoveryReport:
        """Resolve interrupted, UNKNOWN and PENDING records by asking their channels.

        PENDING payments of batch channels are left to ``poll()``: their results come in
        files, and asking about each of 300,000 debits in a sent file would teach nothing.
        """
        with self._verbs.observe("recover", channel) as verb:
            report = self._recovery.recover(channel=channel)
            verb.done(count=report.examined)
        return report

    def owner_alive(self, owner: str) -> bool:
        """Whether the process named by a claim or lock owner may still be running."""
        return self._recovery.owner_alive(owner)

    # -- closing --------------------------------------------------------------------------------

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
        self._channels.close_all()
        self.locks.release_all()
        self.journal.close()
        self._owner.retire()

    def __enter__(self) -> Collector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
