"""Dispatch: claiming a journaled record and handing it to its channel.

The claim (DISPATCHED, with this process as claimant and a lease) is committed before the
channel is touched; whatever the channel then does — answers, raises, hangs — ends in an
outcome applied through the one resolution policy, naming the attempt the claim opened (an
answer never lands on a later attempt). ``NotSentError`` means provably nothing left
(NOT_SENT, safe to send again); any other failure after the claim is UNKNOWN.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from paychannels.channels.base import Channel, Intent
from paychannels.collector.channelset import ChannelSet
from paychannels.collector.context import LEASE_MARGIN, Contexts
from paychannels.collector.writer import JournalWriter
from paychannels.journal import Change, Claim, Journal, NewRecord, StateWrite
from paychannels.journal.base import Applied, Decide
from paychannels.runtime.clock import Clock
from paychannels.runtime.crashpoints import crashpoint
from paychannels.runtime.ids import Owner, new_id
from paychannels.security.masking import scrub
from paychannels.values.errors import (
    AmountOverLimit,
    ChannelError,
    ConfigurationError,
    InvalidRequest,
    NotSentError,
    PaychannelsError,
)
from paychannels.values.models import Outcome, Payment, PaymentRequest, Record, Refund, as_payment
from paychannels.values.status import Status

__all__ = ["Dispatcher"]

log = logging.getLogger("paychannels.collector")

_CHUNK = 1000  # records per transaction in the bulk paths


class Dispatcher:
    """Journals intents, claims records for this process and sends them to their channels."""

    def __init__(
        self,
        journal: Journal,
        writer: JournalWriter,
        clock: Clock,
        owner: Owner,
        channels: ChannelSet,
        contexts: Contexts,
    ) -> None:
        self._journal = journal
        self._writer = writer
        self._clock = clock
        self._owner = owner
        self._channels = channels
        self._contexts = contexts

    # -- the verbs -------------------------------------------------------------------------

    def collect(self, request: PaymentRequest, channel: str, *, defer: bool) -> Payment:
        """``Collector.collect``: intent and claim in one commit, then the channel.

        A scanned payment code goes to the channel only on the dispatch this call's own
        intent opened; a retry of the key (which may follow a send) never hands it out.
        """
        code = request.payment_code
        if code is not None and defer:
            raise InvalidRequest(
                f"a payment code ({code.masked}) must be sent at once: defer=True is refused"
            )
        channel, ch = self._routed(request, channel)
        crashpoint("collect.before_intent")
        new = NewRecord(
            id=new_id("pay"),
            kind="payment",
            channel=channel,
            request=request,
            fingerprint=request.fingerprint(channel),
        )
        marker = None if defer else self._marker(new, ch)
        applied = self._writer.create(
            new, then=[] if defer else [self.claim_change(ch)], state=marker
        )
        crashpoint("collect.after_dispatch_mark")
        record = applied.record
        if defer:
            return as_payment(record)
        if not applied.created:
            claimed = self.claim(record, ch)
            if claimed is None:
                return as_payment(self._journal.get(record.id))
            return as_payment(self.dispatch(claimed, ch))
        if code is None:
            return as_payment(self.dispatch(record, ch))
        with self._contexts.holding_code(record.id, code):
            return as_payment(self.dispatch(record, ch))

    def _routed(self, request: PaymentRequest, channel: str) -> tuple[str, Channel]:
        """The channel that really takes ``request`` (a router names it), before any write."""
        ch = self._channels.get(channel)
        target = ch.route(request)
        if target is None:
            within_limit(request, channel, ch)
            return channel, ch
        routed = self._channels.get(target)
        if routed.route(request) is not None:
            raise ConfigurationError(f"channel {channel!r} routes to {target!r}, another router")
        within_limit(request, channel, ch)
        within_limit(request, target, routed)
        return target, routed

    def collect_many(
        self, requests: Sequence[PaymentRequest], channel: str, *, defer: bool
    ) -> list[Payment | PaychannelsError]:
        """``Collector.collect_many``: chunks of one transaction, then sent together.

        Journaled in the order of the journal's payer indexes (payer, reference), answered in
        the caller's: in a roster's order (by village, payers scattered) every chunk's commit
        rewrote nearly every page of those indexes (issue 16: 49 KB written per debit at
        300,000 instead of 11 KB). The sort is stable, so requests repeating one key keep
        their order."""
        if any(r.payment_code is not None for r in requests):
            raise InvalidRequest("payment codes are collected one by one with collect()")
        order = sorted(range(len(requests)), key=lambda i: _index_order(requests[i]))
        answers = self._collect_in_order([requests[i] for i in order], channel, defer=defer)
        results: list[Payment | PaychannelsError | None] = [None] * len(requests)
        for position, i in enumerate(order):
            results[i] = answers[position]
        return [r for r in results if r is not None]

    def _collect_in_order(
        self, requests: Sequence[PaymentRequest], channel: str, *, defer: bool
    ) -> list[Payment | PaychannelsError]:
        ch = self._channels.get(channel)
        results: list[Payment | PaychannelsError] = []
        for start in range(0, len(requests), _CHUNK):
            refused: dict[int, PaychannelsError] = {}
            chunk = []
            for i, r in enumerate(requests[start : start + _CHUNK]):
                try:
                    within_limit(r, channel, ch)
                    chunk.append(r)
                except AmountOverLimit as exc:
                    refused[i] = exc
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
            then = [] if defer else [self.claim_change(ch)]
            applied = self._writer.create_many(news, then=then) if news else []
            claimed = [a.record for a in applied if isinstance(a, Applied) and a.created]
            latest = (
                {r.id: r for r in self.dispatch_all(claimed, ch)} if claimed and not defer else {}
            )
            answers = iter(applied)
            for i in range(len(chunk) + len(refused)):
                item = refused.get(i) or next(answers)
                if isinstance(item, Applied):
                    results.append(as_payment(latest.get(item.record.id, item.record)))
                else:
                    results.append(item)
        return results

    def dispatch_pending(self, *, channel: str | None, limit: int) -> list[Record]:
        """``Collector.dispatch_pending``: claim deferred records, then send them."""
        done: list[Record] = []
        found = self._journal.find(statuses=[Status.CREATED], channel=channel, limit=limit)
        by_channel: dict[str, list[Record]] = {}
        for record in found:
            if record.channel in self._channels:
                by_channel.setdefault(record.channel, []).append(record)
        for name, records in by_channel.items():
            ch = self._channels.get(name)
            if ch.capabilities.batch:
                claimed = self.claim_all(records, ch)
                done.extend(self.dispatch_all(claimed, ch))
                continue
            for record in records:
                one = self.claim(record, ch)
                if one is not None:
                    done.append(self.dispatch(one, ch))
        return done

    def _marker(self, new: NewRecord, ch: Channel) -> StateWrite | None:
        """The channel's marker of the claim's attempt (the first), to commit with the intent."""
        ctx = self._contexts.for_channel(new.channel)
        marker = ch.marker(Intent(new.id, 1, new.request.amount), ctx)
        if marker is None:
            return None
        return StateWrite(new.channel, marker.key, marker.value, marker.expected_version)

    # -- claiming --------------------------------------------------------------------------

    def lease(self, ch: Channel) -> Claim:
        """A claim for this process that outlives the channel's longest call."""
        until = self._clock.now() + timedelta(
            seconds=ch.capabilities.dispatch_timeout + LEASE_MARGIN
        )
        return Claim(self._owner.name, until)

    def claim_change(self, ch: Channel) -> Change:
        """DISPATCHED for this process, with a lease outliving the channel's longest dispatch."""
        claim = self.lease(ch)
        return Change(
            to_status=Status.DISPATCHED, claim=claim, new_attempt=True, data={"owner": claim.owner}
        )

    def claim(self, record: Record, ch: Channel) -> Record | None:
        """Mark a CREATED/NOT_SENT record DISPATCHED for us; None if someone else has it."""
        if record.status not in (Status.CREATED, Status.NOT_SENT):
            return None
        change = self.claim_change(ch)

        def decide(current: Record) -> list[Change]:
            return [change] if current.status in (Status.CREATED, Status.NOT_SENT) else []

        applied = self._writer.modify_applied(record.id, decide)
        crashpoint("collect.after_dispatch_mark")
        return applied.record if applied.events else None

    def claim_all(self, records: Sequence[Record], ch: Channel) -> list[Record]:
        """``claim`` for many records in one transaction; those we now hold."""
        change = self.claim_change(ch)

        def decide(current: Record) -> list[Change]:
            return [change] if current.status in (Status.CREATED, Status.NOT_SENT) else []

        items: list[tuple[str, Decide]] = [(r.id, decide) for r in records]
        applied = self._writer.modify_all(items)
        return [a.record for a in applied if isinstance(a, Applied) and a.events]

    # -- sending ---------------------------------------------------------------------------

    def dispatch(self, record: Record, ch: Channel) -> Record:
        """Send one claimed record (payment or refund) and apply what the channel said."""
        ctx = self._contexts.for_record(record)
        try:
            if isinstance(record, Refund):
                parent = as_payment(self._journal.get(record.parent_id))
                outcome = ch.refund(record, parent, ctx)
            else:
                outcome = ch.start(as_payment(record), ctx)
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
        updated = self._writer.apply_outcome(
            record.id,
            outcome,
            via="dispatch",
            notes=ctx.held(),
            attempt=record.attempt,
            answer=can_be_asked_again(ch),
            known=record,
        )
        crashpoint("collect.after_journal")
        return updated

    def dispatch_all(self, records: Sequence[Record], ch: Channel) -> list[Record]:
        """Send claimed payments: together on a batch channel, else one by one."""
        if not ch.capabilities.batch:
            return [self.dispatch(r, ch) for r in records]
        payments = [as_payment(r) for r in records]
        try:
            ctx = self._contexts.for_channel(records[0].channel)
            outcomes = ch.start_batch(payments, ctx)
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
        return self._writer.apply_dispatched(records, outcomes, via="dispatch")


def can_be_asked_again(ch: Channel) -> bool:
    """Whether recovery can learn a lost answer of ``ch`` by asking it (docs/state-machine.md,
    "Durability"): a batch channel's answer is a file's, left to ``poll()``, not asked."""
    caps = ch.capabilities
    return caps.inquire and not caps.batch


def within_limit(request: PaymentRequest, name: str, ch: Channel) -> None:
    """Refuse, before anything is written, an amount over the channel's single-payment limit."""
    limit = ch.max_amount
    if limit is None:
        return
    amount = request.amount
    if amount.currency != limit.currency:
        raise AmountOverLimit(
            f"channel {name!r} takes payments up to {limit.to_decimal_string()} "
            f"{limit.currency.code}; a payment in {amount.currency.code} cannot be checked "
            "against it: nothing was recorded or sent"
        )
    if amount > limit:
        raise AmountOverLimit(
            f"{amount.to_decimal_string()} {amount.currency.code} is over the single-payment "
            f"limit of channel {name!r} ({limit.to_decimal_string()} {limit.currency.code}): "
            "nothing was recorded or sent"
        )


def _index_order(request: PaymentRequest) -> tuple[str, str]:
    """Where a request's rows land in the journal's payer indexes."""
    return request.payer_id, request.reference
