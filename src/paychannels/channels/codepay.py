"""CodePayChannel: the clerk scans the payer's payment code (付款码); one flow per provider.

``start`` sends the code once (it comes from ``ctx.take_payment_code()``, only on the
dispatch that follows the intent) and then never again:

- paid, or certainly refused: that is the outcome;
- "the payer is confirming" (WeChat ``USERPAYING``, Alipay ``WAIT_BUYER_PAY``): query every
  ``wait_interval`` seconds until paid, refused, or ``wait_limit`` is over; then reverse
  (撤销) — the provider closes the order, and gives the money back if the payer had paid in
  the meantime (reported REVERSED with the amount: the journal shows the charge and its
  reversal);
- no answer, a system error: UNKNOWN; ``recover()`` asks (``inquire``) and reverses where
  the waiting is over.

Without the code (a retry of the key, another process) nothing is sent: NOT_SENT, "scan
again" — the record was CREATED or NOT_SENT, so provably nothing left before.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Protocol

from paychannels.channels.base import Capabilities, Channel, ChannelContext
from paychannels.links.http import ProviderHTTP, ProviderNoAnswer
from paychannels.providers.bills import ProviderBill
from paychannels.providers.codepay import CodePayCodec, CodeState, CodeView, ReverseResult
from paychannels.values.errors import NotSentError, ProtocolError, UnsupportedOperation
from paychannels.values.models import Outcome, Payment, Record, Refund, as_payment
from paychannels.values.paymentcode import PaymentCode
from paychannels.values.status import Status

__all__ = ["CODE_LIFETIME", "CodePayChannel", "Refunds"]

log = logging.getLogger("paychannels.channels.codepay")

#: a payment code is refreshed every minute; an order the provider does not know this long
#: after the scan can no longer be created by a late request (its code has expired)
CODE_LIFETIME = 120.0
_REVERSE_TRIES = 3


class Refunds(Protocol):
    """The provider's ordinary account calls for code payments: refunds and the day's bill
    (the mobile channel of the same account)."""

    def refund(self, refund: Refund, payment: Payment, ctx: ChannelContext) -> Outcome:
        """Refund (part of) a paid payment."""
        ...

    def inquire(self, record: Record, ctx: ChannelContext) -> Outcome:
        """What became of a refund."""
        ...

    def download_bill(self, ctx: ChannelContext, day: date) -> ProviderBill:
        """The provider's bill of ``day``, recorded as the channel's settlement figures."""
        ...


class CodePayChannel(Channel):
    """One provider account taking scanned payment codes."""

    scheme = "wechatpay alipay"
    capabilities = Capabilities(
        inquire=True,
        void=True,
        refund=True,
        partial_refund=True,
        # the longest wait (wait_limit is at most 600 s), the reverse and its retries
        dispatch_timeout=720.0,
    )

    def __init__(
        self,
        codec: CodePayCodec,
        http: ProviderHTTP,
        *,
        wait_interval: float,
        wait_limit: float,
        code_lifetime: float = CODE_LIFETIME,
        refunds: Refunds | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.codec = codec
        self.http = http
        self.wait_interval = wait_interval
        self.wait_limit = wait_limit
        self.code_lifetime = code_lifetime
        self.refunds = refunds
        self._sleep = sleep

    # -- paying -------------------------------------------------------------------------------

    def start(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        code = ctx.take_payment_code()
        if code is None:
            raise NotSentError("the payment code is no longer held; scan again")
        if code.provider != self.codec.provider:
            raise NotSentError(f"a {code.provider} code cannot pay through {self.describe()}")
        view = self._pay(payment, code, ctx)
        match view.state:
            case CodeState.PAID | CodeState.REFUSED | CodeState.REVOKED:
                return view.outcome
            case CodeState.PAYING:
                ctx.progress("the payer is confirming (password); waiting", code=code.masked)
                return self._wait(payment, ctx)
            case CodeState.ABSENT | CodeState.UNCLEAR:
                return Outcome.unknown(view.detail or "no trustworthy answer to the code")

    def _pay(self, payment: Payment, code: PaymentCode, ctx: ChannelContext) -> CodeView:
        call = self.codec.pay_call(payment, code)
        ctx.crashpoint("codepay.before_send")
        try:
            reply = self.http.send(call)  # ProviderUnreachable (NOT_SENT) passes through
        except ProviderNoAnswer as exc:
            return CodeView(CodeState.UNCLEAR, Outcome.unknown(str(exc)), self.scrub(str(exc)))
        ctx.crashpoint("codepay.after_send")
        return self.codec.paid(payment, reply)

    def _wait(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        """Query until paid, refused or the wait is over; then reverse (the providers' rule).

        At least one query goes out before a reverse, however late the wait began (a loaded
        machine): a payer who confirmed is found paid, not reversed and refunded."""
        deadline = ctx.clock.monotonic() + self.wait_limit
        rounds = math.ceil(self.wait_limit / self.wait_interval)  # bounded whatever the clock
        for _ in range(rounds):
            left = deadline - ctx.clock.monotonic()
            self._sleep(min(self.wait_interval, max(left, 0.0)))
            ctx.crashpoint("codepay.before_query")
            view = self._query(payment)
            if view.state in (CodeState.PAID, CodeState.REFUSED, CodeState.REVOKED):
                return view.outcome
            if ctx.clock.monotonic() >= deadline:
                break
        ctx.progress(f"no confirmation within {self.wait_limit:g} s; reversing the order")
        return self._reverse(payment, ctx)

    def _query(self, record: Record) -> CodeView:
        try:
            return self.codec.queried(record, self.http.send(self.codec.query_call(record)))
        except (NotSentError, ProviderNoAnswer, ProtocolError) as exc:
            text = self.scrub(str(exc))
            log.info("%s: query failed (%s); asking again", record.id, text)
            return CodeView(CodeState.UNCLEAR, Outcome.unknown(text), text)

    def _reverse(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        """Reverse, then read what the order became (closed, or paid and given back)."""
        for _ in range(_REVERSE_TRIES):
            ctx.crashpoint("codepay.before_reverse")
            try:
                result = self.codec.reversed(
                    payment, self.http.send(self.codec.reverse_call(payment))
                )
            except (NotSentError, ProviderNoAnswer) as exc:
                log.info("%s: reverse failed (%s)", payment.id, self.scrub(str(exc)))
                result = ReverseResult.AGAIN
            ctx.crashpoint("codepay.after_reverse")
            if result is ReverseResult.ABSENT:
                return Outcome.unknown("the provider knows no such order to reverse; asking later")
            if result is ReverseResult.DONE:
                view = self._query(payment)
                if view.state in (CodeState.PAID, CodeState.REFUSED, CodeState.REVOKED):
                    return view.outcome
                return Outcome.unknown(f"reversed; its final state unread ({view.detail})")
            self._sleep(self.wait_interval)
        return Outcome.unknown("the reverse got no answer; recover() asks again")

    # -- asking afterwards ----------------------------------------------------------------------

    def inquire(self, record: Record, ctx: ChannelContext) -> Outcome:
        if isinstance(record, Refund):
            return self._desk().inquire(record, ctx)
        view = self.codec.queried(record, self.http.send(self.codec.query_call(record)))
        age = ctx.clock.now() - record.created_at
        match view.state:
            case CodeState.PAID | CodeState.REFUSED | CodeState.REVOKED:
                return view.outcome
            case CodeState.PAYING if age > timedelta(seconds=self.wait_limit):
                ctx.progress("the wait for the payer is over; reversing the order")
                return self._reverse(as_payment(record), ctx)
            case CodeState.PAYING:
                return Outcome.pending(message=view.detail)
            case CodeState.ABSENT if age > timedelta(seconds=self.code_lifetime):
                # its code has expired: no late request can create the order any more
                return view.outcome
            case CodeState.ABSENT | CodeState.UNCLEAR:
                return Outcome.unknown(view.detail or "no answer yet")

    def void(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        """Reverse a paid code payment: the money goes back to the payer (REVERSED)."""
        outcome = self._reverse(payment, ctx)
        if outcome.status is Status.REVERSED:
            return outcome.model_copy(update={"amount_taken": None})
        return outcome

    def refund(self, refund: Refund, payment: Payment, ctx: ChannelContext) -> Outcome:
        return self._desk().refund(refund, payment, ctx)

    def download_bill(self, ctx: ChannelContext, day: date) -> ProviderBill:
        """The day's bill (it lists code payments beside the account's others), recorded as
        this channel's settlement figures: reconciliation matches the scanned payments."""
        return self._desk().download_bill(ctx, day)

    def _desk(self) -> Refunds:
        if self.refunds is None:
            raise UnsupportedOperation(f"{self.describe()} has no refund or bill desk")
        return self.refunds

    # -- housekeeping ---------------------------------------------------------------------------

    def transcript(self) -> str:
        """The scrubbed exchanges with the provider so far (codes masked)."""
        return self.http.transcript.text() if self.http.transcript else ""

    def scrub(self, text: str) -> str:
        return self.codec.scrub(text)

    def describe(self) -> str:
        return (
            f"{self.codec.provider} payment codes at {self.http.base_url}: {self.codec.describe()}"
        )

    def close(self) -> None:
        self.http.close()
