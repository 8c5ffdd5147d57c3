"""``TerminalChannel``: payments, reversals, refunds and end-of-day on a ZVT terminal.

One booking command at a time per terminal: the journal's lock (``ctx.lock``) keeps other
processes out, a thread lock other threads of this one. Before a booking command leaves,
a marker is persisted (see ``book``); an attempt whose answer was lost is resolved by asking
the terminal for its last status information again, never by sending it again — in
``inquire`` (the Collector's recovery), or before the next command on the same terminal,
which refuses to start while an earlier attempt there cannot be resolved.

The receipt echo (TLV ``1F1F``, ``echo=on``) makes the terminal reverse its last payment when
the echoed number is one behind its own — a payment someone else (the terminal's cloud
front, another backend) may have booked. It is off by default: the book already settles our
own lost answers by asking. With ``echo=on`` the channel asks the terminal for its last
receipt right before each payment and echoes it only if it is the one our book knows; any
other number proves the terminal is shared, and the echo stays off for this channel.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from paychannels.channels.base import Channel, ChannelContext, Intent, Marker
from paychannels.channels.settlement import record_settlement
from paychannels.drivers.book import Book
from paychannels.drivers.terminal import (
    CAPABILITIES,
    LOCK_TIMEOUT,
    Terminal,
    Watchers,
    checking_first,
    detach_transcript,
    send_booking,
)
from paychannels.drivers.zvt.book import Attempt, BookState, Kind, Result, identify
from paychannels.drivers.zvt.client import Session, TerminalStatus, ZvtClient
from paychannels.drivers.zvt.codes import result_meaning, status_text
from paychannels.drivers.zvt.dialogue import Exchange
from paychannels.drivers.zvt.errors import CommandRefused
from paychannels.drivers.zvt.outcomes import info_data, result_of, to_outcome
from paychannels.drivers.zvt.replies import IntermediateStatus, StatusInformation
from paychannels.drivers.zvt.totals import (
    DayTotals,
    day_settlement,
    day_totals,
    remember_last_receipt,
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

__all__ = ["ReversalRefused", "TerminalChannel", "TerminalEvent"]

#: runs the command in a session; the int is the receipt to echo (payments), or None
Run = Callable[[Session, int | None], Exchange]
log = logging.getLogger("paychannels.drivers.zvt")


class ReversalRefused(ChannelError):
    """The terminal would not reverse the payment; it stays as it was."""


@dataclass(frozen=True, slots=True)
class TerminalEvent:
    """What the terminal is doing, for a hall's screen (see ``TerminalChannel.watch``)."""

    kind: str  # command | status | result
    record_id: str | None
    text: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Seen:
    """The last attempt this process saw finish cleanly (saves asking the terminal again)."""

    version: int
    done: Attempt
    last_receipt: int | None
    synced: bool
    state: BookState


class TerminalChannel(Channel):
    """A ZVT terminal over TCP or a serial line; see the module docstring."""

    scheme = "zvt"
    capabilities = CAPABILITIES

    def __init__(
        self,
        client: ZvtClient,
        *,
        currency: Currency,
        url: str,
        lock_timeout: float = LOCK_TIMEOUT,
    ) -> None:
        self.client = client
        self.terminal = Terminal(url, currency=currency, prefix="zvt", lock_timeout=lock_timeout)
        self.currency = currency
        self._abort = threading.Event()
        self._echo = client.config.echo_last_receipt  # off for good once the terminal is shared
        self._seen: _Seen | None = None
        self._watchers: Watchers[[TerminalEvent]] = Watchers()

    # -- observers and control -------------------------------------------------------------

    def watch(self, callback: Callable[[TerminalEvent], None]) -> Callable[[], None]:
        """Call ``callback`` for each command, status and result; returns an unsubscribe."""
        return self._watchers.add(callback)

    def _tell(self, kind: str, record_id: str | None, text: str, **data: Any) -> None:
        self._watchers.tell(TerminalEvent(kind, record_id, text, data))

    def abort(self) -> None:
        """Ask the terminal to abort the running payment (it ends DECLINED if it still can)."""
        self._abort.set()

    # -- verbs -----------------------------------------------------------------------------

    def marker(self, intent: Intent, ctx: ChannelContext) -> Marker | None:
        """The payment's marker, when the book is known from the last clean command (no
        question to the terminal needed first, no receipt echo): it is then committed with
        the intent, and ``start`` finds it pending under the terminal lock (``_mark``)."""
        seen = self._seen
        if seen is None or self._echo or intent.amount.currency.code != self.currency.code:
            return None
        state = seen.state
        pending = state.pending
        if pending is not None and (
            seen.version != state.version or seen.done.key() != pending.key()
        ):
            return None
        state = replace(state, recent=list(state.recent))
        if pending is not None:
            state.finish(seen.done, last_receipt=seen.last_receipt, synced=seen.synced)
        if not state.synced:
            return None
        book = self.terminal.book(ctx)
        state.mark(intent.record_id, intent.attempt, "payment", intent.amount.minor, book.now())
        return Marker(book.state_key, state.to_json(), state.version)

    def start(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        self.terminal.check_currency(payment.amount.currency.code)
        amount = payment.amount.minor
        exchange, result = self._book(
            ctx, "payment", payment, amount, lambda s, echo: s.authorize(amount, last_receipt=echo)
        )
        return self._outcome(result, exchange)

    def refund(self, refund: Refund, payment: Payment, ctx: ChannelContext) -> Outcome:
        self.terminal.check_currency(refund.amount.currency.code)
        amount = refund.amount.minor
        exchange, result = self._book(ctx, "refund", refund, amount, lambda s, _: s.refund(amount))
        return self._outcome(result, exchange)

    def void(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        receipt = payment.channel_data.get("receipt_no")
        if not isinstance(receipt, int):
            raise UnsupportedOperation(
                f"{payment.id} has no terminal receipt number; it cannot be reversed here"
            )
        taken = (payment.amount_taken or payment.amount).minor
        exchange, result = self._book(
            ctx, "reversal", payment, taken, lambda s, _: s.reverse(receipt, taken)
        )
        if result.result_code == 0xB4:  # already reversed: an earlier attempt got through
            return Outcome(status=Status.REVERSED, message=result_meaning(0xB4).text)
        if result.result_code:
            meaning = result_meaning(result.result_code).detail
            raise ReversalRefused(f"the terminal refused to reverse {payment.id}: {meaning}")
        if result.verdict != "booked":
            raise OutcomeUnknownError(
                f"the reversal of {payment.id} got no readable answer ({result.detail}); "
                "cancel again: a reversal already done is answered 'already reversed'"
            )
        return to_outcome(
            result, currency=self.currency.code, receipt=exchange.receipt, success=Status.REVERSED
        )

    def inquire(self, record: Record, ctx: ChannelContext) -> Outcome:
        return self.terminal.inquire(
            record,
            ctx,
            payment_kind="payment",
            known=lambda result: self._outcome(result, None),
            resolve=self._inquired,
        )

    def end_of_day(self, ctx: ChannelContext) -> DayTotals:
        """Close the terminal's batch; the totals it reports, with the report's lines.

        The totals are recorded in the journal as this channel's settlement figures
        (``paychannels.channels.settlement``), for reconciliation to compare with the payments.
        """
        exchange, _ = self._book(ctx, "end_of_day", None, None, lambda s, _: s.end_of_day())
        if exchange.abort is not None:
            raise CommandRefused(
                exchange.abort.result_code,
                result_meaning(exchange.abort.result_code).text,
                "End-of-Day",
            )
        totals = day_totals(exchange, self.currency.code)
        last = self._seen.last_receipt if self._seen is not None else None
        settlement = day_settlement(totals, ctx, last_known=last)
        record_settlement(ctx, settlement)
        remember_last_receipt(ctx, settlement)
        return totals

    def status(self, ctx: ChannelContext | None = None) -> TerminalStatus:
        """Ask whether the terminal is ready (under the terminal lock when a context is given)."""
        with self.terminal.hold(ctx), self.client.session() as session:
            return session.status()

    # -- the booking flow ------------------------------------------------------------------

    def _book(
        self, ctx: ChannelContext, kind: Kind, record: Record | None, amount: int | None, run: Run
    ) -> tuple[Exchange, Result]:
        """Settle the terminal, persist the marker, run the command, remember what it did."""
        book = self.terminal.book(ctx)
        record_id = record.id if record is not None else kind
        number = record.attempt if record else 0
        parent = record.parent_id if record is not None else None
        with self.terminal.hold(ctx):
            self._abort.clear()
            with self.client.session(
                on_status=self._progress(ctx, record_id if record else None),
                should_abort=self._abort.is_set,
            ) as session:
                state, attempt, echo = self._mark(session, book, (record_id, number, kind, amount))
                self._seen = None
                exchange, result = send_booking(
                    ctx,
                    attempt,
                    lambda: run(session, echo),
                    announce=lambda: self._tell(
                        "command", record_id, kind, amount=amount, parent_id=parent
                    ),
                    refused=lambda done: self._remember(state, done),
                    read=lambda exchange: (exchange, self._read(session, state, attempt, exchange)),
                )
        self._tell("result", record_id, result.verdict, rc=result.result_code)
        return exchange, result

    def _mark(
        self, session: Session, book: Book, what: tuple[str, int, Kind, int | None]
    ) -> tuple[BookState, Attempt, int | None]:
        """Settle the book and persist the marker of the attempt about to be sent; with it
        the receipt to echo (None: no echo).

        After a clean command the book is taken from memory and written back with a
        compare-and-set; only when another process wrote in between is it read again.
        """
        seen = self._seen
        if what[2] == "payment" and not self._echo:
            # its marker may have been committed with the intent (``marker``)
            state = book.load()
            own = self._own_marker(state, book, what)
            if own is not None:
                return state, own, None
        else:
            state = replace(seen.state, recent=list(seen.state.recent)) if seen else book.load()
        for _ in range(2):
            self._settle(session, state, book)
            confirmed = what[2] == "payment" and self._echo and self._confirm(session, state)
            attempt = state.mark(*what, at=book.now())
            if book.try_save(state):
                return state, attempt, attempt.before if confirmed else None
            self._seen = None  # someone else wrote since: read the book again
            state = book.load()
        raise NotSentError("the terminal book keeps changing under us; nothing was sent")

    def _own_marker(
        self, state: BookState, book: Book, what: tuple[str, int, Kind, int | None]
    ) -> Attempt | None:
        """This attempt's marker if the book holds it pending (it came with the intent).
        One another command already settled means the attempt was judged never sent:
        it must not leave now."""
        record_id, number, kind, _ = what
        key = (record_id, number, kind)
        pending = state.pending
        if pending is not None and pending.key() == key:
            return pending
        if state.find(key) is not None or book.answer(kind, record_id, number) is not None:
            raise NotSentError(
                f"the marker of {record_id} was settled by another command before it "
                "left; nothing was sent"
            )
        return None

    def _settle(self, session: Session, state: BookState, book: Book) -> None:
        """Make the book match the terminal before a new command (no booking command runs)."""
        with checking_first("the terminal", CommandRefused):
            if state.pending is not None:
                self._resolve(state, book, session)
            elif not state.synced:
                info, ok, _ = self._repeat(session)
                if ok:
                    state.last_receipt, state.synced = (info.receipt or 0) if info else 0, True

    def _confirm(self, session: Session, state: BookState) -> bool:
        """Whether the terminal's own last receipt, asked now, is the one the book knows (the
        only number safe to echo). Another number means something else books on this
        terminal: the book takes the terminal's, and the echo is off for this channel."""
        with checking_first("the terminal's last receipt"):
            info, ok, _ = self._repeat(session)
        if not ok:
            return False
        last = (info.receipt or 0) if info is not None else 0
        if state.synced and state.last_receipt == last:
            return True
        if state.synced:
            self._echo = False
            log.warning(
                "%s: the terminal's last receipt is %s, our book's %s: something else books on "
                "this terminal, so the receipt echo is off for this channel",
                self.terminal.url,
                last,
                state.last_receipt,
            )
        state.last_receipt, state.synced = last, True
        return False

    def _resolve(
        self, state: BookState, book: Book, session: Session | None = None
    ) -> tuple[Attempt, list[str]]:
        """Decide ``state.pending`` (from memory, else by asking again) and record the result."""
        pending = state.pending
        assert pending is not None
        seen = self._seen
        if seen is not None and seen.version == state.version and seen.done.key() == pending.key():
            state.finish(seen.done, last_receipt=seen.last_receipt, synced=seen.synced)
            return seen.done, []
        if session is None:
            with self.client.session() as own:
                return self._resolve(state, book, own)
        info, ok, lines = self._repeat(session)
        if not ok:
            raise OutcomeUnknownError(
                f"{pending.kind} {pending.id} is in doubt and the terminal cannot repeat its "
                "last status information now; try again later"
            )
        result = identify(pending, info)
        if result.verdict == "booked" and info is not None:
            data = info_data(info, self.client.config.charset)
            result = replace(result, data=data)
        done = replace(pending, result=result)
        if done.kind != "end_of_day":
            book.put_answer(done)
        state.finish(done, last_receipt=(info.receipt or 0) if info else 0, synced=True)
        return done, lines

    def _inquired(self, state: BookState, book: Book) -> Outcome:
        """Recovery's question about a pending marker, answered by asking the terminal."""
        done, lines = self._resolve(state, book)
        assert done.result is not None
        return self._outcome(done.result, None, lines)

    def _repeat(self, session: Session) -> tuple[StatusInformation | None, bool, list[str]]:
        """The terminal's last status information: (info or None if it has none, ok, lines)."""
        try:
            exchange = session.repeat_status()
        except CommandRefused:
            return None, False, []
        if exchange.abort is not None:
            return None, False, exchange.receipt
        return exchange.info, True, exchange.receipt

    def _read(
        self, session: Session, state: BookState, attempt: Attempt, exchange: Exchange
    ) -> Result:
        """What the command's answer says became of the attempt, remembered."""
        result = result_of(exchange, attempt, self.client.config.charset)
        if result is None:
            result = self._fetch_missing(session, attempt)
        self._remember(state, replace(attempt, result=result))
        return result

    def _fetch_missing(self, session: Session, attempt: Attempt) -> Result:
        """The terminal completed without a readable result: ask for it again at once."""
        try:
            info, ok, _ = self._repeat(session)
        except (OutcomeUnknownError, ProtocolError, LinkError):
            ok, info = False, None
        if not ok:
            return Result("ambiguous", detail="completion without status information")
        result = identify(attempt, info)
        if result.verdict == "booked" and info is not None:
            result = replace(result, data=info_data(info, self.client.config.charset))
        return result

    def _remember(self, state: BookState, done: Attempt) -> None:
        """Keep a finished attempt for the next command to fold into the book. One whose
        answer could not be read is not finished: its marker stays pending in the book, and
        the next command or recovery decides it by asking the terminal."""
        result = done.result
        assert result is not None
        if result.verdict == "ambiguous":
            self._seen = None
            return
        last, synced = state.last_after(result.receipt, unsure=False)
        self._seen = _Seen(state.version, done, last, synced, state)

    def _progress(
        self, ctx: ChannelContext, record_id: str | None
    ) -> Callable[[IntermediateStatus], None]:
        def report(status: IntermediateStatus) -> None:
            en, zh = status_text(status.code)
            if record_id is not None:
                ctx.progress(en, code=status.code, zh=zh)
            self._tell("status", record_id, en, code=status.code, zh=zh)

        return report

    def _outcome(
        self, result: Result, exchange: Exchange | None, lines: list[str] | None = None
    ) -> Outcome:
        receipt = exchange.receipt if exchange is not None else (lines or [])
        return to_outcome(result, currency=self.currency.code, receipt=receipt, exchange=exchange)

    # -- housekeeping ----------------------------------------------------------------------

    def describe(self) -> str:
        return self.terminal.url

    def close(self) -> None:
        detach_transcript(self.client.link)
