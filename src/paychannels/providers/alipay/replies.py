"""Reading Alipay gateway answers: verify the exact response text, map codes and states.

A ``code`` 10000 answer must carry a ``sign`` that verifies over the exact text of its
response member; an unsigned or badly signed success is a ``ProtocolError`` (the payment
becomes UNKNOWN). Business failures (40004) are mapped by ``sub_code``; an unlisted one is
kept verbatim with ``Reason.UNMAPPED``. Amounts are yuan strings, parsed exactly.
"""

from __future__ import annotations

import json
import re
from typing import Any

from paychannels.providers.alipay import signing
from paychannels.providers.alipay.config import AlipayConfig
from paychannels.providers.base import HttpReply, OrderState, OrderView, ProviderError
from paychannels.security.verification import CallbackRejected
from paychannels.values.errors import InvalidAmount, ProtocolError
from paychannels.values.models import Outcome
from paychannels.values.money import Money
from paychannels.values.reasons import Reason

__all__ = ["Answer", "error_outcome", "trade_view", "yuan"]

_YUAN = re.compile(r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,2})?$")
_DECLINES: dict[str, Reason] = {
    "ACQ.TRADE_HAS_CLOSE": Reason.ORDER_CLOSED,
    "ACQ.TOTAL_FEE_EXCEED": Reason.LIMIT_EXCEEDED,
    "ACQ.ACCESS_FORBIDDEN": Reason.TRANSACTION_FORBIDDEN,
    "ACQ.TRADE_NOT_ALLOW_REFUND": Reason.TRANSACTION_FORBIDDEN,
    "ACQ.TRADE_STATUS_ERROR": Reason.TRANSACTION_FORBIDDEN,
    "ACQ.SELLER_BALANCE_NOT_ENOUGH": Reason.INSUFFICIENT_FUNDS,
    "ACQ.BUYER_BALANCE_NOT_ENOUGH": Reason.INSUFFICIENT_FUNDS,
    "ACQ.CONTEXT_INCONSISTENT": Reason.OTHER,
    "ACQ.INVALID_PARAMETER": Reason.OTHER,
    "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL": Reason.OTHER,
    "ACQ.TRADE_NOT_EXIST": Reason.OTHER,
    "ACQ.BUYER_ENABLE_STATUS_FORBID": Reason.ACCOUNT_BLOCKED,
    "ACQ.SELLER_BEEN_BLOCKED": Reason.ACCOUNT_BLOCKED,
    "isv.invalid-app-id": Reason.MERCHANT_MISMATCH,
}
_UNKNOWN = {"ACQ.SYSTEM_ERROR", "AQC.SYSTEM_ERROR", "ISP.UNKNOW-ERROR", "aop.unknow-error"}
_NOT_PROCESSED = {"isv.invalid-signature", "isv.invalid-timestamp", "aop.ACQ.SYSTEM_ERROR"}
_ALREADY = {"ACQ.TRADE_HAS_SUCCESS", "ACQ.TRADE_HAS_FINISHED"}


def yuan(text: object, *, where: str) -> Money:
    """A yuan amount string ("380.00") as exact Money; ``ProtocolError`` otherwise."""
    if not isinstance(text, str) or not _YUAN.match(text):
        raise ProtocolError(f"{where}: {str(text)[:24]!r} is not a yuan amount")
    try:
        return Money(text, "CNY")
    except InvalidAmount as exc:
        raise ProtocolError(f"{where}: {exc}") from None


class Answer:
    """Verifies and opens answers for one application."""

    def __init__(self, config: AlipayConfig) -> None:
        self.config = config

    def open(self, reply: HttpReply, method: str) -> dict[str, Any]:
        """The verified response member of an answer, as a dict with at least ``code``."""
        if reply.status != 200:
            raise ProtocolError(f"Alipay gateway answered HTTP {reply.status} to {method}")
        try:
            node, sign = signing.response_node(reply.body, method)
            data = json.loads(node)
        except (CallbackRejected, ValueError, UnicodeDecodeError) as exc:
            raise ProtocolError(f"Alipay answer to {method} is unreadable: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("code"), str):
            raise ProtocolError(f"Alipay answer to {method} has no code")
        if sign is not None:
            try:
                signing.verify(self.config.alipay_public_key, node, sign, where=f"{method} sign")
            except CallbackRejected as exc:
                raise ProtocolError(
                    f"Alipay answer to {method} is not trustworthy: {exc}"
                ) from None
        elif data["code"] == "10000":
            raise ProtocolError(f"Alipay answer to {method} is a success without a sign")
        return data

    @staticmethod
    def error(data: dict[str, Any]) -> ProviderError:
        """The error a non-10000 answer carries."""
        code = str(data.get("sub_code") or data.get("code"))
        text = str(data.get("sub_msg") or data.get("msg") or "")
        return ProviderError(code, text[:200])


def error_outcome(data: dict[str, Any]) -> Outcome | None:
    """What a refused create or refund means; None when the trade must be asked about."""
    code, sub = data.get("code"), str(data.get("sub_code") or "")
    detail = f"ALIPAY:{code} {sub} {data.get('sub_msg') or data.get('msg') or ''}".strip()
    if sub in _ALREADY:
        return None
    if sub in _NOT_PROCESSED:
        return Outcome.not_sent(f"Alipay refused before processing: {detail}")
    if code == "20000" or sub in _UNKNOWN:
        return Outcome.unknown(f"Alipay could not say: {detail}")
    if code == "40006":
        return Outcome.declined(Reason.TRANSACTION_FORBIDDEN, detail)
    return Outcome.declined(_DECLINES.get(sub, Reason.UNMAPPED), detail)


def trade_view(data: dict[str, Any], expected: Money | None) -> OrderView:
    """A trade (query answer or notification) as an ``OrderView``.

    TRADE_CLOSED after a payment (the trade was refunded in full) still means it was paid:
    the refund is its own record, and "closed" never undoes "paid".
    """
    status = data.get("trade_status")
    ref = data.get("trade_no") if isinstance(data.get("trade_no"), str) else None
    detail = f"ALIPAY:{status}"
    paid_at = data.get("gmt_payment") or data.get("send_pay_date")
    match status:
        case "TRADE_SUCCESS" | "TRADE_FINISHED":
            return _paid(data, expected, ref)
        case "TRADE_CLOSED" if paid_at:
            return _paid(data, expected, ref)
        case "WAIT_BUYER_PAY":
            return OrderView.unpaid(detail)
        case "TRADE_CLOSED":
            return OrderView.closed(detail, ref)
        case _:
            raise ProtocolError(f"Alipay trade_status {str(status)[:40]!r} is not known")


def _paid(data: dict[str, Any], expected: Money | None, ref: str | None) -> OrderView:
    amount = yuan(data.get("total_amount"), where="total_amount")
    if expected is not None and amount != expected:
        raise ProtocolError(f"Alipay trade is for {amount}, journal has {expected}")
    extra = {k: data[k] for k in ("gmt_payment", "send_pay_date") if k in data}
    return OrderView(
        OrderState.PAID, Outcome.succeeded(amount_taken=amount, channel_ref=ref, data=extra)
    )
