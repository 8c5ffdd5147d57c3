"""The Collector: the one payment interface backends talk to.

It owns the journal, idempotency, the state machine, recovery of in-doubt payments and the
event stream. The order of writes is the whole safety argument:

1. the intent and the DISPATCHED mark (with a claim naming this process) are committed
   together *before* the channel is touched;
2. the channel's report is applied through ``resolution.resolve`` under a row lock;
3. anything interrupted in between is found by ``recover()`` (a DISPATCHED row whose
   claimant is dead or whose lease ran out) and resolved by asking the channel — never by
   sending again.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from pydantic import JsonValue

from paychannels.channels.base import Channel, ChannelContext, Notice, Reply
from paychannels.channels.registry import open_channel
from paychannels.clock import Clock, SystemClock
from paychannels.crashpoints import crashpoint
from paychannels.errors import (
    ChannelError,
    ConfigurationError,
    IllegalTransition,
    InvalidRequest,
    NotSentError,
    PaychannelsError,
    PaymentNotFound,
    UnsupportedOperation,
)
from paychannels.ids import new_id
from paychannels.journal import Change, Claim, Journal, NewRecord, StateEntry, open_journal
from paychannels.journal.base import Applied, Decide
from paychannels.locks import LockTable
from paychannels.masking import scrub
from paychannels.models import Event, EventType, Outcome, Payment, PaymentRequest, Record, Refund
from paychannels.money import Money
from paychannels.reasons import Reason
from paychannels.report_apply import apply_report
from paychannels.reports import Report, ReportSummary
from paychannels.resolution import attention, resolve
from paychannels.status import TRANSITIONS, Status

__all__ = ["DEFAULT_JOURNAL_URL", "Collector", "PollResult", "RecoveryReport"]

log = logging.getLogger("paychannels.collector")

DEFAULT_JOURNAL_URL = "sqlite:///paychannels.db"
LEASE_MARGIN = 60.0
_CHUNK = 1000  # records per transaction in the bulk paths
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

Subscriber = Callable[[Event], None]
ProgressWatcher = Callable[[str, dict[str, JsonValue]], None]


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


class PollResult(list[Record]):
    """What ``Collector.poll`` did: the records its notices changed (it is that list), and
    ``reports``, the summary of each bulk report (result file) it applied or refused."""

    def __init__(self, records: Sequence[Record] = (), reports: Sequence[ReportSummary] = ()):
        super().__init__(records)
        self.reports: list[ReportSummary] = list(reports)


class _Context:
    """The ``ChannelContext`` handed to an adapter for one verb on one record."""

    def __init__(self, collector: Collector, channel_name: str, record_id: str | None) -> None:
        self._collector = collector
        self._channel_name = channel_name
        self._record_id = record_id
        self._progress: list[Change] = []

    @property
    def channel_name(self) -> str:
        return self._channel_name

    def _target(self) -> str:
        if self._record_id is None:
            raise RuntimeError("progress belongs to a payment; none is in hand")
        return self._record_id

    @property
    def clock(self) -> Clock:
        return self._collector.clock

    def progress(self, text: str, **data: JsonValue) -> None:
        """Published live now; journaled with the verb's outcome, in the same commit.

        A progress text is news for a screen, not a state: persisting each in its own
        commit cost more than the payment's state changes, and a crash mid-dialogue loses
        only texts the outcome (UNKNOWN, then asked) does not need.
        """
        col = self._collector
        payload: dict[str, JsonValue] = {"text": text, **data, "at": col.clock.now().isoformat()}
        target = self._target()
        self._progress.append(Change(event=EventType.PROGRESS, data=payload))
        col._live_progress(target, payload)

    def held(self) -> list[Change]:
        """The progress events not journaled yet (they go with the next write of the record)."""
        out, self._progress = self._progress, []
        return out

    def next_number(self, key: str, *, start: int = 1) -> int:
        col = self._collector
        return col.journal.state_next(self.channel_name, key, now=col.clock.now(), start=start)

    def state_get(self, key: str) -> StateEntry | None:
        return self._collector.journal.state_get(self.channel_name, key)

    def state_put(self, key: str, value: JsonValue, *, expected_version: int) -> bool:
        col = self._collector
        return col.journal.state_put(
            self.channel_name, key, value, expected_version=expected_version, now=col.clock.now()
        )

    def lock(self, name: str, *, timeout: float) -> AbstractContextManager[None]:
        col = self._collector
        lease = col.channel(self.channel_name).capabilities.dispatch_timeout + LEASE_MARGIN
        return col.locks.hold(f"{self.channel_name}:{name}", lease=lease, timeout=timeout)

    def crashpoint(self, name: str) -> None:
        crashpoint(name)


class Collector:
    """Collect payments through named channels, journaled, idempotent and recoverable."""

    def __init__(
        self,
        journal: Journal,
        *,
        clock: Clock | None = None,
        attention_after: timedelta = timedelta(hours=24),
        lock_linger: float = 1.0,
    ) -> None:
        self.journal = journal
        self.clock: Clock = clock or SystemClock()
        self.attention_after = attention_after
        self._host = socket.gethostname()
        self.owner = f"{self._host}/{os.getpid()}/{secrets.token_hex(4)}"
        self.locks = LockTable(
            journal, self.owner, self.clock, owner_alive=self.owner_alive, linger=lock_linger
        )
        self._channels: dict[str, Channel] = {}
        self._subscribers: list[Subscriber] = []
        self._progress_watchers: list[ProgressWatcher] = []
        self._sub_lock = threading.Lock()

    @classmethod
    def open(
        cls,
        url: str = DEFAULT_JOURNAL_URL,
        *,
        migrate: bool = True,
        clock: Clock | None = None,
        attention_after: timedelta = timedelta(hours=24),
        lock_linger: float = 1.0,
    ) -> Collector:
        """Open the journal at ``url`` (creating or migrating its schema unless told not to)."""
        journal = open_journal(url)
        try:
            if migrate:
                journal.migrate()
            else:
                journal.check_schema()
        except BaseException:
            journal.close()
            raise
        return cls(journal, clock=clock, attention_after=attention_after, lock_linger=lock_linger)

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
        return _Context(self, name, None)

    @property
    def channels(self) -> Mapping[str, Channel]:
        """The registered channels by name."""
        return dict(self._channels)

    # -- collect ----------------------------------------------------------------------------

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
        then = [] if defer else [self._claim_change(ch)]
        applied = self._write(lambda now: self.journal.create(new, now=now, then=then))
        crashpoint("collect.after_dispatch_mark")
        record = applied.record
        if defer:
            return _as_payment(record)
        if not applied.created:
            claimed = self._claim(record, ch)
            if claimed is None:
                return _as_payment(self.journal.get(record.id))
            record = claimed
        return _as_payment(self._dispatch(record, ch))

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
            then = [] if defer else [self._claim_change(ch)]
            applied = self._write_many(partial(_create_many, self.journal, news, then))
            claimed = [a.record for a in applied if isinstance(a, Applied) and a.created]
            latest = (
                {r.id: r for r in self._dispatch_all(claimed, ch)} if claimed and not defer else {}
            )
            for item in applied:
                if isinstance(item, Applied):
                    results.append(_as_payment(latest.get(item.record.id, item.record)))
                else:
                    results.append(item)
        return results

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
                claimed = self._claim_all(records, ch)
                done.extend(self._dispatch_all(claimed, ch))
                continue
            for record in records:
                one = self._claim(record, ch)
                if one is not None:
                    done.append(self._dispatch(one, ch))
        return done

    def _claim_all(self, records: Sequence[Record], ch: Channel) -> list[Record]:
        change = self._claim_change(ch)

        def decide(current: Record) -> list[Change]:
            return [change] if current.status in (Status.CREATED, Status.NOT_SENT) else []

        items: list[tuple[str, Decide]] = [(r.id, decide) for r in records]
        applied = self._write_many(partial(_modify_many, self.journal, items))
        return [a.record for a in applied if isinstance(a, Applied) and a.events]

    def _dispatch_all(self, records: Sequence[Record], ch: Channel) -> list[Record]:
        """Send claimed payments: together on a batch channel, else one by one."""
        if not ch.capabilities.batch:
            return [self._dispatch(r, ch) for r in records]
        payments = [_as_payment(r) for r in records]
        try:
            outcomes = ch.start_batch(payments, _Context(self, records[0].channel, None))
            if len(outcomes) != len(payments):
                raise ChannelError(
                    f"{ch.describe()} answered {len(outcomes)} outcomes for {len(payments)}"
                )
        except NotSentError as exc:
            outcomes = [Outcome.not_sent(scrub(str(exc)))] * len(payments)
        except Exception as exc:  # the file may have been written: every payment is in doubt
            detail = scrub(f"{type(exc).__name__}: {exc}")
            log.warning(
                "%s: batch of %d raised %s; outcomes UNKNOWN", ch.describe(), len(payments), detail
            )
            outcomes = [Outcome.unknown(detail)] * len(payments)
        crashpoint("collect.after_outcome")
        return self.apply_outcomes(
            [(p.id, o) for p, o in zip(payments, outcomes, strict=True)], via="dispatch"
        )

    def _claim_change(self, ch: Channel) -> Change:
        until = self.clock.now() + timedelta(
            seconds=ch.capabilities.dispatch_timeout + LEASE_MARGIN
        )
        return Change(
            to_status=Status.DISPATCHED,
            claim=Claim(self.owner, until),
            new_attempt=True,
            data={"owner": self.owner},
        )

    def _claim(self, record: Record, ch: Channel) -> Record | None:
        """Mark a CREATED/NOT_SENT record DISPATCHED for us; None if someone else has it."""
        if record.status not in (Status.CREATED, Status.NOT_SENT):
            return None
        change = self._claim_change(ch)

        def decide(current: Record) -> list[Change]:
            return [change] if current.status in (Status.CREATED, Status.NOT_SENT) else []

        applied = self._write(lambda now: self.journal.modify(record.id, decide, now=now))
        crashpoint("collect.after_dispatch_mark")
        return applied.record if applied.events else None

    def _dispatch(self, record: Record, ch: Channel) -> Record:
        ctx = _Context(self, record.channel, record.id)
        try:
            if isinstance(record, Refund):
                parent = _as_payment(self.journal.get(record.parent_id))
                outcome = ch.refund(record, parent, ctx)
            else:
                outcome = ch.start(_as_payment(record), ctx)
        except NotSentError as exc:
            outcome = Outcome.not_sent(scrub(str(exc)))
        except Exception as exc:  # anything else after the mark: money may have moved
            log.warning(
                "%s: %s raised %s; outcome UNKNOWN",
                record.id,
                ch.describe(),
                scrub(f"{type(exc).__name__}: {exc}"),
            )
            outcome = Outcome.unknown(scrub(f"{type(exc).__name__}: {exc}"))
        crashpoint("collect.after_outcome")
        updated = self.apply_outcome(record.id, outcome, via="dispatch", notes=ctx.held())
        crashpoint("collect.after_journal")
        return updated

    # -- reading ------------------------------------------------------------------------------

    def status(self, record_id: str) -> Record:
        """The current state of a payment or refund."""
        return self.journal.get(record_id)

    def find(self, **filters: Any) -> list[Record]:
        """Records by status, channel, payer, reference... (see ``Journal.find``)."""
        return self.journal.find(**filters)

    def events(
        self, *, after: int = 0, payment_id: str | None = None, limit: int = 1000
    ) -> list[Event]:
        """Journal events in order; pass the last seen ``seq`` as ``after`` to tail."""
        return self.journal.events(after=after, record_id=payment_id, limit=limit)

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(event)`` after each event this process commits; returns unsubscribe."""
        with self._sub_lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._sub_lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def watch_progress(self, callback: ProgressWatcher) -> Callable[[], None]:
        """Call ``callback(payment_id, data)`` the moment a channel reports progress.

        Progress events reach the journal (and ``subscribe`` callbacks) with the verb's
        outcome; this is the live feed for a cashier's screen. Returns an unsubscribe.
        """
        with self._sub_lock:
            self._progress_watchers.append(callback)

        def unsubscribe() -> None:
            with self._sub_lock:
                if callback in self._progress_watchers:
                    self._progress_watchers.remove(callback)

        return unsubscribe

    def _live_progress(self, record_id: str, data: dict[str, JsonValue]) -> None:
        with self._sub_lock:
            watchers = list(self._progress_watchers)
        for callback in watchers:
            try:
                callback(record_id, dict(data))
            except Exception:  # a screen's bug must not break the payment flow
                log.exception("progress watcher %r failed", callback)

    # -- applying what channels report -------------------------------------------------------

    def apply_outcome(
        self, record_id: str, outcome: Outcome, *, via: str, notes: Sequence[Change] = ()
    ) -> Record:
        """Apply a channel's report to a record, forward-only (see ``resolution.resolve``).

        ``notes`` (the verb's progress events) are journaled first, in the same commit.
        """
        return self._write(
            lambda now: self.journal.modify(
                record_id, lambda current: [*notes, *resolve(current, outcome, via=via)], now=now
            )
        ).record

    def apply_outcomes(self, items: Sequence[tuple[str, Outcome]], *, via: str) -> list[Record]:
        """``apply_outcome`` for many records, in chunks of one transaction each."""
        out: list[Record] = []
        for start in range(0, len(items), _CHUNK):
            chunk = items[start : start + _CHUNK]
            decisions: list[tuple[str, Decide]] = [
                (rid, partial(_resolved, outcome=outcome, via=via)) for rid, outcome in chunk
            ]
            for item in self._write_many(partial(_modify_many, self.journal, decisions)):
                if isinstance(item, Applied):
                    out.append(item.record)
                else:
                    raise item
        return out

    def flag_attention(self, record_id: str, text: str, reason: Reason = Reason.OTHER) -> Record:
        """Ask a person to look at a record (NEEDS_ATTENTION where allowed, else a flag)."""
        return self._write(
            lambda now: self.journal.modify(
                record_id, lambda current: attention(current, text, reason), now=now
            )
        ).record

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

    def handle_notice(self, channel: str, notice: Notice) -> Record | None:
        """Apply unasked news (callback, result-file row); unverified news triggers a query."""
        record = self._locate(channel, notice)
        if record is None:
            log.warning(
                "%s: notice for an unknown payment (%s, ref %s) ignored",
                channel,
                notice.payment_id,
                notice.channel_ref,
            )
            return None
        if not notice.verified or notice.outcome is None:
            return self._inquire_after_hint(record, notice)
        decide = _notice_decision(notice)
        return self._write(lambda now: self.journal.modify(record.id, decide, now=now)).record

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
            applied = self._write_many(partial(_modify_many, self.journal, decisions))
            for (i, rid, _n), item in zip(chunk, applied, strict=True):
                if isinstance(item, Applied):
                    results[i] = item.record
                else:
                    log.warning("%s: notice for %s not applied: %s", channel, rid, item)
        return results

    def handle_callback(self, channel: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """Verify a provider's callback on its raw bytes, apply it, and build the reply."""
        ch = self.channel(channel)
        notices, reply = ch.parse_callback(headers, body, _Context(self, channel, None))
        for notice in notices:
            self.handle_notice(channel, notice)
        return reply

    def poll(self, channel: str) -> PollResult:
        """Run a batch channel's periodic work and apply what it found.

        Notices go through ``handle_notices``; bulk reports (result files) through
        ``apply_report``, each all-or-nothing and acknowledged to the channel.
        """
        ch = self.channel(channel)
        ctx = _Context(self, channel, None)
        records = [r for r in self.handle_notices(channel, ch.poll(ctx)) if r is not None]
        summaries = [self.apply_report(channel, report) for report in ch.reports(ctx)]
        return PollResult(records, summaries)

    def apply_report(self, channel: str, report: Report) -> ReportSummary:
        """Apply a bulk report (a result file) to the journal: every row, or none if it
        cannot be read; then tell the report (``applied`` / ``rejected``)."""
        self.channel(channel)
        return apply_report(self, channel, report)

    def _locate(self, channel: str, notice: Notice) -> Record | None:
        if notice.payment_id:
            try:
                return self.journal.get(notice.payment_id)
            except PaymentNotFound:
                return None
        if notice.channel_ref:
            found = self.journal.find(channel=channel, channel_ref=notice.channel_ref, limit=2)
            return found[0] if len(found) == 1 else None
        return None

    def _inquire_after_hint(self, record: Record, notice: Notice) -> Record:
        # Only an answer still awaited is worth a question: a forged callback for a settled
        # or an in-flight payment must not make us query the provider (a flood of them
        # would be a flood of queries), nor race the dispatcher of a DISPATCHED payment.
        awaited = record.status in (Status.PENDING, Status.UNKNOWN)
        self._annotate(
            record.id,
            Change(
                event=EventType.CALLBACK,
                data={
                    "verified": False,
                    "source": notice.source,
                    "action": "inquire" if awaited else f"none ({record.status})",
                },
            ),
        )
        ch = self._channels.get(record.channel)
        if not awaited or ch is None or not ch.capabilities.inquire:
            return self.journal.get(record.id)
        return self._inquire(record, ch, via="inquiry after unverified notice")

    def _inquire(self, record: Record, ch: Channel, *, via: str) -> Record:
        ctx = _Context(self, record.channel, record.id)
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
        if not held and not resolve(record, outcome, via=via):
            # nothing to change as of what we read (a PENDING order still pending): no write;
            # had the record moved meanwhile, its writer handled it and we learned nothing new
            return record
        return self.apply_outcome(record.id, outcome, via=via, notes=held)

    # -- refund and cancel ----------------------------------------------------------------

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
        parent = self.journal.get(payment_id)
        if not isinstance(parent, Payment):
            raise InvalidRequest(f"{payment_id} is a refund; refund the payment itself")
        if parent.status is not Status.SUCCEEDED:
            raise IllegalTransition(
                f"{payment_id} is {parent.status}; only SUCCEEDED can be refunded"
            )
        ch = self.channel(parent.channel)
        if not ch.capabilities.refund:
            raise UnsupportedOperation(f"channel {parent.channel!r} cannot refund")
        taken = parent.amount_taken or parent.amount
        if amount is None:
            already = sum(
                (
                    r.amount
                    for r in self.journal.find(parent_id=payment_id, limit=10_000)
                    if r.status not in (Status.DECLINED, Status.CANCELLED, Status.EXPIRED)
                ),
                Money.zero(taken.currency),
            )
            amount = taken - already
            if not amount.is_positive():
                raise InvalidRequest(f"{payment_id}: nothing left to refund ({already} refunded)")
        if amount < taken and not ch.capabilities.partial_refund:
            raise UnsupportedOperation(
                f"channel {parent.channel!r} cannot refund part of a payment"
            )
        key = idempotency_key or f"refund:{payment_id}:{amount.minor}"
        request = PaymentRequest(
            payer_id=parent.payer_id,
            amount=amount,
            reference=parent.reference,
            idempotency_key=key,
            operator=parent.operator,
            period=parent.period,
        )
        new = NewRecord(
            id=new_id("rfd"),
            kind="refund",
            channel=parent.channel,
            request=request,
            fingerprint=request.fingerprint(f"{parent.channel}:{payment_id}"),
            parent_id=payment_id,
        )
        applied = self._write(
            lambda now: self.journal.create(new, now=now, then=[self._claim_change(ch)])
        )
        record = applied.record
        if not applied.created:
            claimed = self._claim(record, ch)
            if claimed is None:
                return _as_refund(record)
            record = claimed
        return _as_refund(self._dispatch(record, ch))

    def cancel(self, record_id: str) -> Record:
        """Stop a payment: withdraw an unsent one, close a pending one, void a succeeded one."""
        record = self.journal.get(record_id)
        if record.status in (Status.CREATED, Status.NOT_SENT):

            def withdraw(current: Record) -> list[Change]:
                if current.status not in (Status.CREATED, Status.NOT_SENT):
                    raise IllegalTransition(f"{record_id} moved to {current.status} meanwhile")
                return [Change(to_status=Status.CANCELLED, data={"via": "cancel"})]

            return self._write(lambda now: self.journal.modify(record_id, withdraw, now=now)).record
        ch = self.channel(record.channel)
        payment = _as_payment(record)
        ctx = _Context(self, record.channel, record.id)
        if record.status in (Status.PENDING, Status.DISPATCHED):
            if not ch.capabilities.cancel:
                raise UnsupportedOperation(f"channel {record.channel!r} cannot cancel")
            outcome = ch.cancel(payment, ctx)
            return self.apply_outcome(record_id, outcome, via="cancel", notes=ctx.held())
        if record.status is Status.SUCCEEDED:
            if not ch.capabilities.void:
                raise UnsupportedOperation(
                    f"channel {record.channel!r} cannot void; use refund() instead"
                )
            outcome = ch.void(payment, ctx)
            return self.apply_outcome(record_id, outcome, via="void", notes=ctx.held())
        if record.status is Status.UNKNOWN:
            raise IllegalTransition(
                f"{record_id} is UNKNOWN: its outcome must be asked first (recover())"
            )
        raise IllegalTransition(f"{record_id} is {record.status}; nothing to cancel")

    # -- recovery --------------------------------------------------------------------------

    def recover(self, *, channel: str | None = None) -> RecoveryReport:
        """Resolve interrupted, UNKNOWN and PENDING records by asking their channels.

        PENDING payments of batch channels are left to ``poll()``: their results come in
        files, and asking about each of 300,000 debits in a sent file would teach nothing.
        """
        report = RecoveryReport()
        self._recover_pages([Status.DISPATCHED, Status.UNKNOWN], channel, report)
        for name, ch in sorted(self._channels.items()):
            if channel not in (None, name):
                continue
            if ch.capabilities.batch:
                waiting = self.journal.count_by_status(channel=name).get(Status.PENDING, 0)
                if waiting:
                    report.awaiting_files[name] = waiting
            elif ch.capabilities.inquire:
                self._recover_pages([Status.PENDING], name, report)
        return report

    def _recover_pages(
        self, statuses: list[Status], channel: str | None, report: RecoveryReport
    ) -> None:
        after: str | None = None
        while True:
            page = self.journal.find(statuses=statuses, channel=channel, after_id=after, limit=500)
            for record in page:
                report.examined += 1
                self._recover_one(record, report)
            if len(page) < 500:
                return
            after = page[-1].id

    def _recover_one(self, record: Record, report: RecoveryReport) -> None:
        ch = self._channels.get(record.channel)
        if ch is None:
            report.skipped[record.id] = f"channel {record.channel!r} is not added"
            return
        now = self.clock.now()
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
            record = self._inquire(record, ch, via="recovery inquiry")
        if record.status is Status.UNKNOWN and self._unknown_too_long(record, now):
            record = self.flag_attention(
                record.id,
                f"no trustworthy answer within {self.attention_after}",
                Reason.RECOVERY_DEADLINE,
            )
        if record.status is Status.NEEDS_ATTENTION:
            report.needs_attention.append(record.id)
        elif record.status in (Status.UNKNOWN, Status.PENDING, Status.DISPATCHED):
            report.still_in_doubt.append(record.id)
        else:
            report.resolved[record.status.value] = report.resolved.get(record.status.value, 0) + 1

    def _mark_interrupted(self, seen: Record) -> Record:
        def decide(current: Record) -> list[Change]:
            if current.status is not Status.DISPATCHED or current.claimed_by != seen.claimed_by:
                return []
            return [
                Change(
                    to_status=Status.UNKNOWN,
                    reason=Reason.NO_ANSWER,
                    reason_detail="dispatch was interrupted before its outcome was journaled",
                    data={"via": "recovery", "claimed_by": seen.claimed_by},
                )
            ]

        return self._write(lambda now: self.journal.modify(seen.id, decide, now=now)).record

    def _claim_alive(self, record: Record, now: datetime) -> bool:
        owner, until = record.claimed_by, record.lease_until
        if owner is None or until is None or until <= now:
            return False
        return self.owner_alive(owner)

    def owner_alive(self, owner: str) -> bool:
        """Whether the process named by a claim or lock owner may still be running.

        Only a process on this host can be seen to be dead; another host's is trusted.
        """
        if owner == self.owner:
            return True
        host, _, rest = owner.partition("/")
        pid_text = rest.partition("/")[0]
        if host != self._host or not pid_text.isdigit():
            return True  # another machine: trust its lease
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def _unknown_too_long(self, record: Record, now: datetime) -> bool:
        """UNKNOWN with no word from the channel for ``attention_after``.

        A channel that answers "I hold it, still processing" (a debit in a file sent to the
        bank) restarts the clock: that is waiting, not doubt, and banks take days.
        """
        since = record.updated_at
        for ev in self.journal.events(record_id=record.id, limit=100_000):
            if ev.to_status is Status.UNKNOWN or ev.data.get("channel_holds_it") is True:
                since = ev.at
        return now - since >= self.attention_after

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

    def _annotate(self, record_id: str, change: Change) -> Record:
        return self._write(lambda now: self.journal.append(record_id, change, now=now)).record

    def _publish(self, events: Sequence[Event]) -> None:
        if not events:
            return
        with self._sub_lock:
            subscribers = list(self._subscribers)
        for event in events:
            for callback in subscribers:
                try:
                    callback(event)
                except Exception:  # a subscriber's bug must not break the payment flow
                    log.exception("event subscriber %r failed on event %s", callback, event.seq)

    def close(self) -> None:
        """Close every channel, give back lingering locks, close the journal."""
        for ch in self._channels.values():
            try:
                ch.close()
            except Exception:
                log.exception("closing channel %s failed", ch.describe())
        self.locks.release_all()
        self.journal.close()

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


def _resolved(current: Record, *, outcome: Outcome, via: str) -> list[Change]:
    return resolve(current, outcome, via=via)


def _notice_decision(notice: Notice) -> Callable[[Record], list[Change]]:
    """How a verified notice changes a record: checks first, then the one policy."""
    assert notice.outcome is not None
    outcome, via = notice.outcome, notice.source

    def decide(current: Record) -> list[Change]:
        if notice.problem:
            return attention(current, f"{via}: {notice.problem}", Reason.MERCHANT_MISMATCH)
        if notice.amount is not None and notice.amount != current.amount:
            return attention(
                current,
                f"{via}: order amount {notice.amount} differs from journaled {current.amount}",
                Reason.AMOUNT_MISMATCH,
            )
        return resolve(current, outcome, via=via)

    return decide


def _as_payment(record: Record) -> Payment:
    if isinstance(record, Payment):
        return record
    raise InvalidRequest(f"{record.id} is a {record.kind}, not a payment")


def _as_refund(record: Record) -> Refund:
    if isinstance(record, Refund):
        return record
    raise InvalidRequest(f"{record.id} is a {record.kind}, not a refund")
