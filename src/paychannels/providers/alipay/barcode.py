"""What Alipay's 当面付 条码支付 answers mean: ``alipay.trade.pay``, ``.cancel``, ``.query``.

Alipay's published rules for a scanned code (docs/channels/paycode.md cites them):

- ``10000`` to the pay call: paid. ``10003`` (WAIT_BUYER_PAY): the payer is confirming in
  the app (password); query until a result or the merchant's wait is over, then cancel.
- ``20000`` or ``ACQ.SYSTEM_ERROR``: unknown; query, and cancel if no clear result.
- any other ``40004``: the business failed, certainly not paid (the payer's reason in
  ``sub_code``). ``40002`` on signature or parameters: not processed at all.
- ``alipay.trade.cancel``: closes an unpaid trade (``action=close``) or gives a paid one's
  money back (``action=refund``); ``retry_flag=Y`` asks for the cancel to be repeated.
- a trade that was paid and then given back in full queries as TRADE_CLOSED with its
  ``send_pay_date``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from paychannels.providers.alipay.replies import Answer, error_outcome, trade_view, yuan
from paychannels.providers.base import OrderState, OrderView, ProviderError
from paychannels.values.errors import ProtocolError
from paychannels.values.models import Outcome, Payment, Record
from paychannels.values.reasons import Reason
from paychannels.values.status import Status

__all__ = [
    "CancelAnswer",
    "PayAnswer",
    "PayNext",
    "code_trade_view",
    "read_cancel",
    "read_pay",
]

#: sub_codes of a refused pay call and the reason the payer understands
_PAYER_REASONS: dict[str, Reason] = {
    "ACQ.PAYMENT_AUTH_CODE_INVALID": Reason.CODE_EXPIRED,  # 支付授权码无效: refresh, scan again
    "ACQ.BUYER_BALANCE_NOT_ENOUGH": Reason.INSUFFICIENT_FUNDS,
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
#: a refused pay call that only a query can explain (an earlier attempt's trade exists)
_ASK = {"ACQ.TRADE_HAS_SUCCESS", "ACQ.TRADE_HAS_FINISHED", "ACQ.TRADE_HAS_CLOSE",
        "ACQ.TRADE_BUYER_NOT_MATCH", "ACQ.SYSTEM_ERROR", "aop.ACQ.SYSTEM_ERROR",
        "ISP.UNKNOW-ERROR", "isp.unknow-error", "aop.unknow-error"}  # fmt: skip


class PayNext(StrEnum):
    """What the flow does after the pay call's answer."""

    DONE = "done"  # the outcome is final: paid, or certainly not paid
    WAIT = "wait"  # 10003: the payer is confirming; query, then cancel
    ASK = "ask"  # 20000 / system error / an existing trade: query, then cancel


@dataclass(frozen=True, slots=True)
class PayAnswer:
    """The pay call's answer: what to do next and, when DONE, the outcome."""

    next: PayNext
    detail: str
    outcome: Outcome | None = None


@dataclass(frozen=True, slots=True)
class CancelAnswer:
    """The cancel call's answer."""

    done: bool
    action: str | None  # close / refund (Alipay's words), None when no trade existed
    retry: bool
    trade_no: str | None = None
    error: ProviderError | None = None


def _detail(data: dict[str, Any]) -> str:
    text = data.get("sub_msg") or data.get("msg") or ""
    return f"ALIPAY:{data.get('code')} {data.get('sub_code') or ''} {text}".strip()


def read_pay(data: dict[str, Any], payment: Payment) -> PayAnswer:
    """The verified ``alipay_trade_pay_response`` member, read."""
    code, sub = data["code"], str(data.get("sub_code") or "")
    if data.get("out_trade_no") not in (None, payment.id):
        raise ProtocolError(f"Alipay answered the pay call about another trade than {payment.id}")
    if code == "10000":
        view = trade_view({"trade_status": "TRADE_SUCCESS", **data}, payment.amount)
        return PayAnswer(PayNext.DONE, "ALIPAY:10000", view.outcome)
    if code == "10003":
        return PayAnswer(PayNext.WAIT, "ALIPAY:10003 WAIT_BUYER_PAY")
    if code == "20000" or sub in _ASK:
        return PayAnswer(PayNext.ASK, _detail(data))
    reason = _PAYER_REASONS.get(sub)
    if code == "40004" and reason is not None:
        return PayAnswer(PayNext.DONE, sub, Outcome.declined(reason, _detail(data)))
    outcome = error_outcome(data)
    if outcome is None or outcome.status is Status.UNKNOWN:
        return PayAnswer(PayNext.ASK, _detail(data))
    return PayAnswer(PayNext.DONE, sub, outcome)


def read_cancel(data: dict[str, Any]) -> CancelAnswer:
    """The verified ``alipay_trade_cancel_response`` member, read."""
    retry = data.get("retry_flag") == "Y"
    trade_no = data.get("trade_no") if isinstance(data.get("trade_no"), str) else None
    if data["code"] == "10000":
        action = data.get("action")
        return CancelAnswer(True, str(action) if action else None, retry, trade_no)
    return CancelAnswer(False, None, retry, trade_no, Answer.error(data))


def code_trade_view(data: dict[str, Any], record: Record) -> OrderView:
    """A code payment's trade as a query tells it.

    TRADE_CLOSED with a payment date, for a record not yet SUCCEEDED (no refund of ours can
    exist), was paid and given back by a cancel: REVERSED with the amount taken, so both
    movements are journaled.
    """
    paid_at = data.get("send_pay_date") or data.get("gmt_payment")
    if (
        data.get("trade_status") == "TRADE_CLOSED"
        and paid_at
        and (record.status is not Status.SUCCEEDED)
    ):
        amount = yuan(data.get("total_amount"), where="total_amount")
        ref = data.get("trade_no") if isinstance(data.get("trade_no"), str) else None
        returned = Outcome(
            status=Status.REVERSED,
            amount_taken=amount,
            channel_ref=ref,
            reason=Reason.TIMEOUT,
            reason_detail="ALIPAY:TRADE_CLOSED after payment (cancelled, money returned)",
        )
        return OrderView(OrderState.CLOSED, returned)
    return trade_view(data, record.amount)
