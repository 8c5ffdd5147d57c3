"""Alipay 当面付 条码支付: the clerk scans the payer's code and the money moves now.

``alipay+https://openapi.alipay.com/gateway.do?app_id=…&product=bar_code`` opens an
``AlipayCodeChannel``; other products stay with ``MobilePayChannel``. The flow follows
Alipay's rules for a scanned code (docs/channels/paycode.md):

- ``start`` sends ``alipay.trade.pay`` once, with the code the Collector hands out once. A
  payer still confirming (10003) or an unknown answer (20000) is queried every
  ``query_every`` s up to ``wait_seconds``; then the trade is cancelled. The cancel of a paid
  trade gives the money back: reported REVERSED with the amount taken, never lost.
- A lost answer is UNKNOWN; ``inquire`` (``recover()``) queries, and cancels a trade still
  waiting once the wait is over.
- Without the code (restart, retry of the key) nothing is sent: NOT_SENT where nothing can
  have left before, else the provider is asked.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from paychannels.channels.base import Capabilities, ChannelContext
from paychannels.channels.mobile import MobilePayChannel, alipay_from_url
from paychannels.links.http import ProviderHTTP
from paychannels.providers.alipay import AlipayCodec
from paychannels.providers.alipay.barcode import CancelAnswer, PayNext
from paychannels.providers.base import OrderState, OrderView, ProviderError
from paychannels.values.errors import (
    InvalidRequest,
    NotSentError,
    OutcomeUnknownError,
    ProtocolError,
)
from paychannels.values.models import Outcome, Payment, Record, Refund, as_payment
from paychannels.values.paymentcode import PaymentCode
from paychannels.values.reasons import Reason
from paychannels.values.status import Status
from paychannels.values.urls import ParsedURL

__all__ = ["AlipayCodeChannel", "from_url"]

#: how often a cancel is tried (Alipay: repeat while retry_flag=Y), and the pause between
CANCEL_TRIES = 3
CANCEL_PAUSE = 2.0
#: codes this channel sent lately (digests), to tell "already used" from "expired"
_SENT_KEY = "alipay.sent_codes"
_SENT_KEEP = 500
_QUERY_FAILS = (ProviderError, ProtocolError, NotSentError, OutcomeUnknownError)


class AlipayCodeChannel(MobilePayChannel):
    """One Alipay application taking scanned payment codes (see the module docstring)."""

    scheme = "alipay"
    capabilities = Capabilities(
        inquire=True,
        cancel=True,
        refund=True,
        partial_refund=True,
        callback=True,
        asynchronous=False,
        dispatch_timeout=300.0,  # wait_seconds (≤ 120) + cancels, with room for slow calls
    )

    def __init__(
        self,
        codec: AlipayCodec,
        http: ProviderHTTP,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(codec, http, expire=codec.config.expire)
        self.alipay = codec
        self.query_every = codec.config.query_every
        self.wait = codec.config.wait_seconds
        self._sleep = sleep

    # -- pay ------------------------------------------------------------------------------------

    def start(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        code = ctx.take_payment_code()
        if code is None:
            return self._without_code(payment, ctx)
        if code.provider != "alipay":
            return Outcome.declined(
                Reason.TRANSACTION_FORBIDDEN, f"a {code.provider} code cannot be paid at Alipay"
            )
        try:
            call = self.alipay.pay_call(payment, code)
        except InvalidRequest as exc:
            return Outcome.declined(Reason.TRANSACTION_FORBIDDEN, str(exc))
        used_before = self._remember(code, ctx)
        ctx.crashpoint("channel.before_send")
        reply = self.http.send(call)
        ctx.crashpoint("channel.after_send")
        answer = self.alipay.paid(payment, reply)
        if answer.next is PayNext.DONE:
            assert answer.outcome is not None
            if answer.outcome.reason is Reason.CODE_EXPIRED and used_before:
                return answer.outcome.model_copy(update={"reason": Reason.CODE_USED})
            return answer.outcome
        ctx.progress(f"Alipay: {answer.detail}; asking every {self.query_every:g} s")
        return self._wait(payment, ctx, self.wait, answer.detail)

    def _without_code(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        """No code held (a restart, a retry of the key): never send; ask if one may have left."""
        gone = "the payment code is no longer held; scan again"
        if payment.attempt <= 1:
            return Outcome.not_sent(gone)
        view = self._code_view(payment)
        if view.state is OrderState.ABSENT:
            return Outcome.not_sent(gone)
        return self._settle(payment, ctx, view)

    def _remember(self, code: PaymentCode, ctx: ChannelContext) -> bool:
        """Note the code's digest before it leaves; True if this channel sent it before."""
        for _ in range(5):
            entry = ctx.state_get(_SENT_KEY)
            seen = list(entry.value) if entry is not None and isinstance(entry.value, list) else []
            if code.digest in seen:
                return True
            kept = [*seen[-(_SENT_KEEP - 1) :], code.digest]
            if ctx.state_put(_SENT_KEY, kept, expected_version=entry.version if entry else 0):
                return False
        return False

    def _wait(self, payment: Payment, ctx: ChannelContext, seconds: float, why: str) -> Outcome:
        """Query while the payer confirms, up to ``seconds``; then cancel (Alipay's rule)."""
        deadline = ctx.clock.monotonic() + seconds
        while True:
            left = deadline - ctx.clock.monotonic()
            self._sleep(max(0.0, min(self.query_every, left)))
            ctx.crashpoint("channel.before_query")
            try:
                view = self._code_view(payment)
            except _QUERY_FAILS as exc:  # no answer teaches nothing: keep to the schedule
                ctx.progress(f"Alipay query failed ({type(exc).__name__}); asking again")
                view = None
            if view is not None and view.state not in (OrderState.UNPAID, OrderState.ABSENT):
                return view.outcome
            if ctx.clock.monotonic() >= deadline:
                break
        ctx.progress(f"no result after {seconds:g} s ({why}); cancelling the trade")
        return self._cancel(payment, ctx, Reason.TIMEOUT)

    # -- ask and cancel -------------------------------------------------------------------------

    def _code_view(self, record: Record) -> OrderView:
        return self.alipay.code_view(record, self.http.send(self.alipay.query_order(record)))

    def inquire(self, record: Record, ctx: ChannelContext) -> Outcome:
        if isinstance(record, Refund):
            return super().inquire(record, ctx)
        return self._settle(as_payment(record), ctx, self._code_view(record))

    def _settle(self, payment: Payment, ctx: ChannelContext, view: OrderView) -> Outcome:
        """A trade still waiting is left to the payer until the wait is over, then cancelled."""
        if view.state is not OrderState.UNPAID:
            return view.outcome
        waited = (ctx.clock.now() - payment.created_at).total_seconds()
        if waited < self.wait and payment.status is not Status.SUCCEEDED:
            return Outcome.pending(message="ALIPAY:WAIT_BUYER_PAY; the payer is confirming")
        return self._cancel(payment, ctx, Reason.TIMEOUT)

    def cancel(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        return self._cancel(payment, ctx, Reason.CARDHOLDER_ABORT)

    def _cancel(self, payment: Payment, ctx: ChannelContext, reason: Reason) -> Outcome:
        """``alipay.trade.cancel``, repeated while Alipay says so; what it did, as an outcome."""
        problem = "no answer"
        for attempt in range(CANCEL_TRIES):
            if attempt:
                self._sleep(CANCEL_PAUSE if self.query_every >= 1 else self.query_every)
            ctx.crashpoint("channel.before_cancel")
            try:
                answer = self.alipay.cancelled(self.http.send(self.alipay.cancel_call(payment)))
            except (ProtocolError, NotSentError, OutcomeUnknownError) as exc:
                problem = f"{type(exc).__name__}: {exc}"
                continue  # a cancel is safe to repeat: it names the trade, not the code
            ctx.crashpoint("channel.after_cancel")
            if answer.done:
                return self._cancelled(payment, answer, reason)
            problem = str(answer.error)
            if not answer.retry:
                break
        view = self._code_view(payment)  # refused or unanswered: the trade's state decides
        if view.state not in (OrderState.UNPAID, OrderState.ABSENT):
            return view.outcome
        raise OutcomeUnknownError(f"Alipay did not cancel trade {payment.id}: {problem}")

    def _cancelled(self, payment: Payment, answer: CancelAnswer, reason: Reason) -> Outcome:
        detail = f"ALIPAY:cancel action={answer.action or 'none'}"
        if answer.action == "refund":
            return Outcome(
                status=Status.REVERSED,
                amount_taken=payment.amount,
                channel_ref=answer.trade_no,
                reason=reason,
                reason_detail=detail,
                message="the payer paid as the trade was cancelled; Alipay gave the money back",
            )
        return Outcome.declined(reason, detail, message="cancelled at Alipay; nothing was paid")


def from_url(parsed: ParsedURL, **options: Any) -> MobilePayChannel:
    """Entry point for ``alipay+https://…``: ``product=bar_code`` takes scanned codes."""
    sleep: Callable[[float], None] = options.pop("sleep", time.sleep)
    channel = alipay_from_url(parsed, **options)
    codec = channel.codec
    if not isinstance(codec, AlipayCodec) or codec.config.product != "bar_code":
        return channel
    return AlipayCodeChannel(codec, channel.http, sleep=sleep)
