"""Alipay 当面付 条码支付: ``alipay.trade.pay`` (``scene=bar_code``), query and cancel (撤销).

``CodePayCodec`` for one Alipay application; ``CodePayChannel`` runs the flow. What answers
mean follows Alipay's published rules (docs/channels/paycode.md cites them):

- pay ``10000``: paid. ``10003`` (WAIT_BUYER_PAY): the payer confirms in the app; query
  until paid or the merchant's wait is over, then cancel.
- ``20000`` or ``ACQ.SYSTEM_ERROR``: unknown; query (and cancel an order still unclear).
- any other ``40004``: the business failed, certainly not paid; ``sub_code`` tells the payer
  why. ``40002`` on the signature or parameters: not processed at all.
- ``alipay.trade.cancel`` closes an unpaid trade (``action=close``) or gives a paid one's
  money back (``action=refund``); ``retry_flag=Y`` asks for the cancel to be repeated.
- a trade paid and given back in full queries TRADE_CLOSED with its ``send_pay_date``.

The code travels in ``biz_content.auth_code`` of the pay call only; ``scrub`` masks it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from paychannels.links.http import HttpCall, HttpReply
from paychannels.providers.alipay.calls import Calls, out_trade_no
from paychannels.providers.alipay.codec import AlipayCodec
from paychannels.providers.alipay.config import AlipayConfig
from paychannels.providers.alipay.replies import Answer, error_outcome, trade_view, yuan
from paychannels.providers.codepay import CodeState, CodeView, ReverseResult
from paychannels.values.errors import ProtocolError
from paychannels.values.models import Outcome, Payment, Record
from paychannels.values.paymentcode import PaymentCode, Provider
from paychannels.values.reasons import Reason
from paychannels.values.status import Status

__all__ = ["AlipayCodePay"]

#: sub_codes of a refused pay call, with the reason the payer understands
_REFUSED: dict[str, Reason] = {
    "ACQ.PAYMENT_AUTH_CODE_INVALID": Reason.CODE_EXPIRED,  # 支付授权码无效: refresh, scan again
    "ACQ.BUYER_BALANCE_NOT_ENOUGH": Reason.INSUFFICIENT_FUNDS,  # 买家余额不足
    "ACQ.BUYER_BANKCARD_BALANCE_NOT_ENOUGH": Reason.INSUFFICIENT_FUNDS,
    "ACQ.ERROR_BALANCE_PAYMENT_DISABLE": Reason.INSUFFICIENT_FUNDS,
    "ACQ.BUYER_PAYMENT_AMOUNT_DAY_LIMIT_ERROR": Reason.LIMIT_EXCEEDED,
    "ACQ.BUYER_PAYMENT_AMOUNT_MONTH_LIMIT_ERROR": Reason.LIMIT_EXCEEDED,
    "ACQ.BEYOND_PAY_RESTRICTION": Reason.LIMIT_EXCEEDED,
    "ACQ.BEYOND_PER_RECEIPT_RESTRICTION": Reason.LIMIT_EXCEEDED,
    "ACQ.TOTAL_FEE_EXCEED": Reason.LIMIT_EXCEEDED,
    "ACQ.PAYMENT_REQUEST_HAS_RISK": Reason.SUSPECTED_FRAUD,
    "ACQ.MOBILE_PAYMENT_SWITCH_OFF": Reason.TRANSACTION_FORBIDDEN,
    "ACQ.PULL_MOBILE_CASHIER_FAIL": Reason.TRANSACTION_FORBIDDEN,
    "ACQ.NO_PAYMENT_INSTRUMENTS_AVAILABLE": Reason.TRANSACTION_FORBIDDEN,
    "ACQ.PAYMENT_FAIL": Reason.TRANSACTION_FORBIDDEN,
    "ACQ.BUYER_ENABLE_STATUS_FORBID": Reason.ACCOUNT_BLOCKED,
    "ACQ.ERROR_BUYER_CERTIFY_LEVEL_LIMIT": Reason.ACCOUNT_BLOCKED,
}
#: an answer that settles nothing: a system error, or a trade of ours that exists already
_UNCLEAR = {"ACQ.SYSTEM_ERROR", "aop.ACQ.SYSTEM_ERROR", "ISP.UNKNOW-ERROR", "isp.unknow-error",
            "aop.unknow-error", "ACQ.TRADE_HAS_SUCCESS", "ACQ.TRADE_HAS_FINISHED",
            "ACQ.TRADE_HAS_CLOSE", "ACQ.TRADE_BUYER_NOT_MATCH"}  # fmt: skip
#: Alipay publishes one sub_code for an unusable code; its message tells a used one apart
_USED = re.compile(r"已使用|已被使用|used", re.IGNORECASE)


def _cancelled(record: Record) -> bool:
    """A closed paid trade is a cancel's return: before SUCCEEDED no refund of ours can
    exist; after, only while the journal holds a void of it (the void's claim: a refund is
    its own record, and no void is sent while one may have given money back)."""
    return record.status is not Status.SUCCEEDED or record.voiding


def _detail(data: dict[str, Any]) -> str:
    text = data.get("sub_msg") or data.get("msg") or ""
    return f"ALIPAY:{data.get('code')} {data.get('sub_code') or ''} {text}".strip()


class AlipayCodePay:
    """``CodePayCodec`` for one Alipay application (``product=bar_code``)."""

    provider: Provider = "alipay"

    def __init__(self, codec: AlipayCodec) -> None:
        self.codec = codec
        self.config: AlipayConfig = codec.config
        self.calls: Calls = codec.calls
        self.answers: Answer = codec.answers

    @classmethod
    def open(
        cls, config: AlipayConfig, *, gateway_path: str, now: Callable[[], float]
    ) -> AlipayCodePay:
        """For an application's settings (the same signing and verifying as its codec)."""
        return cls(AlipayCodec(config, gateway_path=gateway_path, now=now))

    # -- calls --------------------------------------------------------------------------------

    def pay_call(self, payment: Payment, code: PaymentCode) -> HttpCall:
        return self.calls.pay(payment, code, self.config.wait_limit)

    def query_call(self, record: Record) -> HttpCall:
        return self.calls.query(record)

    def reverse_call(self, payment: Payment) -> HttpCall:
        return self.calls.cancel(payment)

    # -- answers ------------------------------------------------------------------------------

    def paid(self, payment: Payment, reply: HttpReply) -> CodeView:
        data = self.answers.open(reply, "alipay.trade.pay")
        code, sub = data["code"], str(data.get("sub_code") or "")
        detail = _detail(data)
        if data.get("out_trade_no") not in (None, out_trade_no(payment.id)):
            raise ProtocolError(
                f"Alipay answered the pay call about another trade than {payment.id}"
            )
        if code == "10000":
            view = trade_view({"trade_status": "TRADE_SUCCESS", **data}, payment.amount)
            return CodeView(CodeState.PAID, view.outcome, "ALIPAY:10000")
        if code == "10003":
            return CodeView(CodeState.PAYING, Outcome.pending(message=detail), detail)
        if code == "20000" or sub in _UNCLEAR:
            return CodeView(CodeState.UNCLEAR, Outcome.unknown(detail), detail)
        reason = _REFUSED.get(sub)
        if code == "40004" and reason is not None:
            if reason is Reason.CODE_EXPIRED and _USED.search(str(data.get("sub_msg") or "")):
                reason = Reason.CODE_USED
            return CodeView(CodeState.REFUSED, Outcome.declined(reason, detail), detail)
        outcome = error_outcome(data)  # 40002 not processed: NOT_SENT; others: declined
        if outcome is None or outcome.status is Status.UNKNOWN:
            return CodeView(CodeState.UNCLEAR, Outcome.unknown(detail), detail)
        return CodeView(CodeState.REFUSED, outcome, detail)

    def queried(self, record: Record, reply: HttpReply) -> CodeView:
        data = self.answers.open(reply, "alipay.trade.query")
        if data["code"] != "10000":
            detail = _detail(data)
            if data.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
                return CodeView(
                    CodeState.ABSENT, Outcome.not_sent(f"no such trade ({detail})"), detail
                )
            return CodeView(CodeState.UNCLEAR, Outcome.unknown(detail), detail)
        if data.get("out_trade_no") != out_trade_no(record.id):
            raise ProtocolError(f"Alipay answered about another trade than {record.id}")
        return self._trade(record, data)

    def _trade(self, record: Record, data: dict[str, Any]) -> CodeView:
        status = data.get("trade_status")
        detail = f"ALIPAY:{status}"
        ref = data.get("trade_no") if isinstance(data.get("trade_no"), str) else None
        paid_at = data.get("send_pay_date") or data.get("gmt_payment")
        match status:
            case "WAIT_BUYER_PAY":
                return CodeView(CodeState.PAYING, Outcome.pending(message=detail), detail)
            case "TRADE_CLOSED" if paid_at and _cancelled(record):
                # paid, then given back by a cancel: both movements are journaled
                returned = Outcome(
                    status=Status.REVERSED,
                    amount_taken=yuan(data.get("total_amount"), where="total_amount"),
                    channel_ref=ref,
                    reason=Reason.PIN_TIMEOUT,
                    reason_detail=f"{detail} after payment: cancelled, money returned",
                )
                return CodeView(CodeState.REVOKED, returned, detail)
            case "TRADE_CLOSED" if not paid_at:
                closed = Outcome(
                    status=Status.CANCELLED, reason=Reason.PIN_TIMEOUT, reason_detail=detail
                )
                return CodeView(CodeState.REVOKED, closed, detail)
            case _:  # paid (a SUCCEEDED record's closed trade: refunds are their own records)
                view = trade_view(data, record.amount)
                return CodeView(CodeState.PAID, view.outcome, detail)

    def reversed(self, payment: Payment, reply: HttpReply) -> ReverseResult:
        data = self.answers.open(reply, "alipay.trade.cancel")
        if data["code"] == "10000":
            if data.get("retry_flag") == "Y":
                return ReverseResult.AGAIN
            return ReverseResult.DONE if data.get("action") else ReverseResult.ABSENT
        sub = str(data.get("sub_code") or "")
        if sub == "ACQ.TRADE_NOT_EXIST":
            return ReverseResult.ABSENT
        if data.get("retry_flag") == "Y" or data["code"] == "20000" or sub in _UNCLEAR:
            return ReverseResult.AGAIN  # Alipay: repeat the cancel while retry_flag=Y
        raise self.answers.error(data)

    # -- housekeeping -------------------------------------------------------------------------

    def scrub(self, text: str) -> str:
        return self.codec.scrub(text)

    def describe(self) -> str:
        return f"Alipay 当面付 app_id {self.config.app_id}"
