"""``MisposChannel``: sale, void, refund, settlement and reprint on a bank MIS-POS terminal.

One transaction at a time per terminal: the journal's lock (``ctx.lock("terminal")``) keeps
other processes out, a thread lock other threads of this one. Before a booking request
leaves, a marker is persisted in the terminal book (``paychannels.drivers.book``) with the
terminal's last trace number; an attempt whose answer was lost is resolved by "query last
transaction" (see ``outcomes.identify``) — in ``inquire`` (the Collector's recovery), or
before the next request on the same terminal, which refuses to start while an earlier
attempt there cannot be resolved. Void names the payment's trace; refund its reference
number and date (kept in ``channel_data`` when it was paid). A booking request is never
resent on a lost ACK unless the profile declares a resend key the terminal recognises
repeats by (``[frame] resend_key``); each booking carries a fresh random value there.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import replace

from paychannels.channels.base import Channel, ChannelContext
from paychannels.channels.settlement import record_settlement
from paychannels.drivers.book import Attempt, Book, BookState, Result
from paychannels.drivers.mispos.client import MisposClient, Session
from paychannels.drivers.mispos.codec import Fields
from paychannels.drivers.mispos.outcomes import (
    answer_result,
    earlier_answer,
    identify,
    to_outcome,
    trace_of,
)
from paychannels.drivers.mispos.settlement import batch_settlement
from paychannels.drivers.terminal import (
    CAPABILITIES,
    LOCK_TIMEOUT,
    Terminal,
    Watchers,
    checking_first,
    detach_transcript,
    send_booking,
)
from paychannels.values.currencies import Currency
from paychannels.values.errors import (
    ChannelError,
    LinkError,
    NotSentError,
    OutcomeUnknownError,
    ProtocolError,
    UnsupportedOperation,
)
from paychannels.values.models import Outcome, Payment, Record, Refund
from paychannels.values.status import Status

__all__ = ["MisposChannel", "TerminalRefused"]

PREFIX = "mispos"


class TerminalRefused(ChannelError):
    """The terminal refused an administrative request (settlement, reprint, void)."""


class MisposChannel(Channel):
    """A MIS-POS terminal on a serial line or TCP; see the module docstring."""

    scheme = "mispos"
    capabilities = CAPABILITIES

    def __init__(
        self,
        client: MisposClient,
        *,
        currency: Currency,
        url: str,
        lock_timeout: float = LOCK_TIMEOUT,
    ) -> None:
        self.client = client
        self.profile = client.profile
        self.terminal = Terminal(url, currency=currency, prefix=PREFIX, lock_timeout=lock_timeout)
        self.currency = currency
        self._watchers: Watchers[[str, Record]] = Watchers()

    def watch(self, callback: Callable[[str, Record], None]) -> Callable[[], None]:
        """Call ``callback(verb, record)`` as each booking request leaves (for a hall's screen
        and for tests' ground truth); returns an unsubscribe."""
        return self._watchers.add(callback)

    # -- verbs -----------------------------------------------------------------------------

    def start(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        self.terminal.check_currency(payment.amount.currency.code)
        amount = payment.amount.minor
        values = {"amount": str(amount), "ecr_reference": payment.id}
        result = self._book(ctx, "sale", payment, amount, values)
        return self._outcome(result)

    def void(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        trace = payment.channel_data.get("trace")
        if not isinstance(trace, str):
            raise UnsupportedOperation(f"{payment.id} has no terminal trace; it cannot be voided")
        taken = (payment.amount_taken or payment.amount).minor
        values = {"amount": str(taken), "original_trace": trace}
        result = self._book(ctx, "void", payment, taken, values)
        outcome = self._outcome(result, success=Status.REVERSED)
        if outcome.status is Status.REVERSED:
            return outcome
        if outcome.status in (Status.UNKNOWN, Status.NOT_SENT):
            raise OutcomeUnknownError(
                f"the void of {payment.id} is not confirmed ({outcome.reason_detail}); "
                "cancel again once the terminal answers"
            )
        raise TerminalRefused(f"the terminal did not void {payment.id}: {outcome.reason_detail}")

    def refund(self, refund: Refund, payment: Payment, ctx: ChannelContext) -> Outcome:
        self.terminal.check_currency(refund.amount.currency.code)
        data = payment.channel_data
        reference, date = data.get("reference"), data.get("date")
        if not isinstance(reference, str) or not isinstance(date, str):
            raise UnsupportedOperation(
                f"{payment.id} has no reference number and date from the terminal; it cannot "
                "be refunded here"
            )
        amount = refund.amount.minor
        values = {"amount": str(amount), "original_reference": reference, "original_date": date}
        return self._outcome(self._book(ctx, "refund", refund, amount, values))

    def inquire(self, record: Record, ctx: ChannelContext) -> Outcome:
        return self.terminal.inquire(
            record, ctx, payment_kind="sale", known=self._outcome, resolve=self._inquired
        )

    def settle(self, ctx: ChannelContext) -> Fields:
        """Settlement (结算): close the terminal's batch; its answer's fields.

        The batch and its total are recorded in the journal as this channel's settlement
        figures (``paychannels.channels.settlement``), for reconciliation to compare.
        """
        fields = self._admin(ctx, "settle")
        record_settlement(ctx, batch_settlement(fields, ctx, self.currency.code))
        return fields

    def end_of_day(self, ctx: ChannelContext) -> Fields:
        """The day's close under the name every booking terminal uses (ZVT's End-of-Day):
        for MIS-POS, ``settle``."""
        return self.settle(ctx)

    def reprint(self, ctx: ChannelContext) -> Fields:
        """Reprint the last receipt at the terminal."""
        return self._admin(ctx, "reprint")

    def query_last(self, ctx: ChannelContext | None = None) -> Fields:
        """The terminal's last transaction (a harmless request: the field probe uses it)."""
        with self.terminal.hold(ctx), self.client.session() as session:
            return session.query_last()

    # -- the booking flow ------------------------------------------------------------------

    def _admin(self, ctx: ChannelContext, verb_name: str) -> Fields:
        verb = self.profile.verb(verb_name)
        if verb is None:
            raise UnsupportedOperation(f"profile {self.profile.name} has no {verb_name}")
        with self.terminal.hold(ctx), self.client.session() as session:
            book = self.terminal.book(ctx)
            state = book.load()
            self._settle(session, state, book)
            fields = session.exchange(verb, {})
        rc = fields.get(self.profile.result.field)
        if rc not in self.profile.result.approved:
            raise TerminalRefused(f"the terminal refused {verb_name} (code {rc})")
        return fields

    def _book(
        self,
        ctx: ChannelContext,
        kind: str,
        record: Record,
        amount: int,
        values: Mapping[str, str],
    ) -> Result:
        """Settle the terminal, persist the marker, send, remember what the terminal said."""
        verb = self.profile.verbs[kind]
        book = self.terminal.book(ctx)
        with self.terminal.hold(ctx), self.client.session() as session:
            state = book.load()
            self._settle(session, state, book)
            attempt_no, known = record.attempt, None
            if kind == "void":  # voids repeat on one payment: the next number, or the one done
                attempt_no, known = self._next_void(book, state, record.id)
            if known is not None:
                return known
            attempt = state.mark(record.id, attempt_no, kind, amount, at=book.now())
            book.save(state)
            try:
                return send_booking(
                    ctx,
                    attempt,
                    lambda: session.exchange(
                        verb,
                        {**values, **self._resend_key()},
                        earlier=lambda fields: earlier_answer(attempt, fields),
                    ),
                    announce=lambda: self._watchers.tell(kind, record),
                    refused=lambda done: self._remember(state, done, book),
                    read=lambda fields: self._read(state, attempt, fields, book),
                )
            except NotSentError:  # refused before anything ran: recorded as not booked
                raise
            except (OutcomeUnknownError, ProtocolError, LinkError) as exc:
                return Result("ambiguous", detail=f"{type(exc).__name__}: {exc}")

    def _read(self, state: BookState, attempt: Attempt, fields: Fields, book: Book) -> Result:
        """What the direct answer says became of the attempt, remembered in the book."""
        result = answer_result(self.profile, attempt, fields)
        if result.verdict != "ambiguous":  # in doubt it stays pending: the terminal is asked
            self._remember(state, replace(attempt, result=result), book)
        return result

    def _resend_key(self) -> dict[str, str]:
        """A fresh value for the profile's resend key (random: other processes and backends
        book on the terminal too, and a value they used must not match ours)."""
        key = self.profile.frame.resend_key
        if not key:
            return {}
        digits = self.profile.fields[key].limit
        return {key: f"{secrets.randbelow(10**digits):0{digits}d}"}

    def _next_void(
        self, book: Book, state: BookState, payment_id: str
    ) -> tuple[int, Result | None]:
        """The number for a new void of a payment, or the earlier void that went through."""
        number = 1
        while True:
            known = book.answer("void", payment_id, number)
            if known is None:
                earlier = state.find((payment_id, number, "void"))
                known = earlier.result if earlier is not None else None
            if known is None:
                return number, None
            if known.verdict == "booked" and known.data.get("rc") in self.profile.result.approved:
                return number, known
            number += 1

    def _settle(self, session: Session, state: BookState, book: Book) -> None:
        """Make the book match the terminal before a new request (nothing is booked here)."""
        with checking_first("the terminal"):
            if state.pending is not None:
                self._resolve(session, state, book)
                book.save(state)
            if not state.synced:
                state.last_receipt, state.synced = trace_of(session.query_last()) or 0, True

    def _resolve(self, session: Session, state: BookState, book: Book) -> Attempt:
        """Decide ``state.pending`` by "query last transaction" and record the result."""
        pending = state.pending
        assert pending is not None
        last = session.query_last()
        code = self.profile.verbs[pending.kind].code
        done = replace(pending, result=identify(self.profile, pending, last, code))
        book.put_answer(done)
        state.finish(done, last_receipt=trace_of(last) or 0, synced=True)
        return done

    def _inquired(self, state: BookState, book: Book) -> Outcome:
        """Recovery's question about a pending marker, answered by "query last transaction"."""
        with self.client.session() as session:
            done = self._resolve(session, state, book)
        assert done.result is not None
        return self._outcome(done.result)

    def _remember(self, state: BookState, done: Attempt, book: Book) -> None:
        """Fold a finished attempt into the book (its answer's trace is the terminal's last)."""
        result = done.result
        assert result is not None
        # answered without a trace, it took one all the same: ask for the last one next time
        last, synced = state.last_after(result.trace, unsure=result.verdict == "booked")
        state.finish(done, last_receipt=last, synced=synced)
        book.save(state)

    def _outcome(self, result: Result, *, success: Status = Status.SUCCEEDED) -> Outcome:
        return to_outcome(self.profile, result, currency=self.currency.code, success=success)

    def describe(self) -> str:
        return f"{self.terminal.url} ({self.profile.name})"

    def close(self) -> None:
        detach_transcript(self.client.link)
