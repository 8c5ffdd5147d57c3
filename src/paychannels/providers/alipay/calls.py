"""Alipay open-platform requests: common parameters, ``biz_content``, RSA2 ``sign``.

Calls go to the gateway as a POST form (``charset=utf-8``). App payments are not a call at
all: the signed order string goes to the payer's Alipay app, which creates the trade.
Everything in ``biz_content`` comes from the payment, so a retried order is the same order.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote_plus

from paychannels.providers.alipay import signing
from paychannels.providers.alipay.bill import BILL_METHOD
from paychannels.providers.alipay.config import AlipayConfig
from paychannels.providers.alipay.forms import encode_form
from paychannels.providers.base import HttpCall
from paychannels.runtime.clock import BEIJING
from paychannels.values.errors import InvalidRequest
from paychannels.values.models import Payment, Record, Refund
from paychannels.values.paymentcode import PaymentCode

__all__ = ["BEIJING", "Calls", "alipay_time", "out_trade_no"]

_NUMBER = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_FORBIDDEN = re.compile(r"[/=&\x00-\x1f]")


def out_trade_no(record_id: str) -> str:
    """Our payment or refund id as ``out_trade_no``/``out_request_no`` (64 of ``[A-Za-z0-9_]``)."""
    if not _NUMBER.match(record_id):
        raise InvalidRequest(f"{record_id!r} cannot be an Alipay order number")
    return record_id


def alipay_time(moment: datetime) -> str:
    """``yyyy-MM-dd HH:mm:ss`` in Beijing time, as Alipay writes times."""
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def _subject(payment: Payment) -> str:
    return _FORBIDDEN.sub(" ", payment.description or payment.reference)[:256]


class Calls:
    """Builds signed calls for one Alipay application."""

    def __init__(self, config: AlipayConfig, gateway_path: str, *, now: Callable[[], float]):
        self.config = config
        self.path = gateway_path
        self._now = now

    def params(self, method: str, biz: dict[str, Any], *, notify: bool) -> dict[str, str]:
        """The signed parameters of one call."""
        cfg = self.config
        params = {
            "app_id": cfg.app_id,
            "method": method,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": alipay_time(datetime.fromtimestamp(self._now(), UTC)),
            "version": "1.0",
            "biz_content": json.dumps(biz, ensure_ascii=False, separators=(",", ":")),
        }
        if notify and cfg.notify_url:
            params["notify_url"] = cfg.notify_url
        params["sign"] = signing.sign(cfg.app_private_key, signing.request_content(params))
        return params

    def _call(
        self, method: str, biz: dict[str, Any], action: str, *, notify: bool = False
    ) -> HttpCall:
        body = encode_form(self.params(method, biz, notify=notify))
        headers = (
            ("Content-Type", "application/x-www-form-urlencoded;charset=utf-8"),
            ("Accept", "application/json"),
        )
        return HttpCall("POST", self.path, body, headers, action)

    def _order(self, payment: Payment, expires_at: datetime) -> dict[str, Any]:
        if payment.amount.currency.code != "CNY":
            raise InvalidRequest(f"{payment.id}: Alipay takes CNY, not {payment.amount.currency}")
        return {
            "out_trade_no": out_trade_no(payment.id),
            "total_amount": payment.amount.to_decimal_string(),
            "subject": _subject(payment),
            "time_expire": alipay_time(expires_at),
        }

    def create(self, payment: Payment, expires_at: datetime) -> HttpCall:
        """``alipay.trade.precreate``: a QR code for the payer to scan."""
        return self._call(
            "alipay.trade.precreate", self._order(payment, expires_at), "create", notify=True
        )

    def app_order_string(self, payment: Payment, expires_at: datetime) -> str:
        """``alipay.trade.app.pay``: the signed order string the Alipay app takes."""
        biz = {**self._order(payment, expires_at), "product_code": "QUICK_MSECURITY_PAY"}
        params = self.params("alipay.trade.app.pay", biz, notify=True)
        return "&".join(f"{k}={quote_plus(params[k])}" for k in sorted(params))

    def pay(self, payment: Payment, code: PaymentCode, wait_limit: float) -> HttpCall:
        """``alipay.trade.pay`` (当面付 条码支付): the scanned code goes out, once.

        ``timeout_express`` lets Alipay close the trade itself a minute after our own wait,
        so a trade we never get to cancel (the process died) cannot be paid much later.
        """
        if payment.amount.currency.code != "CNY":
            raise InvalidRequest(f"{payment.id}: Alipay takes CNY, not {payment.amount.currency}")
        biz = {
            "out_trade_no": out_trade_no(payment.id),
            "scene": "bar_code",
            "auth_code": code.reveal(),
            "product_code": "FACE_TO_FACE_PAYMENT",
            "total_amount": payment.amount.to_decimal_string(),
            "subject": _subject(payment),
            "timeout_express": f"{math.ceil(wait_limit / 60) + 1}m",
        }
        return self._call("alipay.trade.pay", biz, "pay", notify=True)

    def cancel(self, payment: Payment) -> HttpCall:
        """``alipay.trade.cancel``: closes an unpaid trade, gives a paid one's money back."""
        return self._call(
            "alipay.trade.cancel", {"out_trade_no": out_trade_no(payment.id)}, "cancel"
        )

    def query(self, record: Record) -> HttpCall:
        """``alipay.trade.query`` by out_trade_no."""
        return self._call("alipay.trade.query", {"out_trade_no": out_trade_no(record.id)}, "query")

    def close(self, payment: Payment) -> HttpCall:
        """``alipay.trade.close`` of an unpaid trade."""
        return self._call("alipay.trade.close", {"out_trade_no": out_trade_no(payment.id)}, "close")

    def refund(self, refund: Refund, payment: Payment) -> HttpCall:
        """``alipay.trade.refund``; ``out_request_no`` is the refund id (idempotent)."""
        biz = {
            "out_trade_no": out_trade_no(payment.id),
            "refund_amount": refund.amount.to_decimal_string(),
            "out_request_no": out_trade_no(refund.id),
            "refund_reason": _FORBIDDEN.sub(" ", refund.description or "退款")[:256],
        }
        return self._call("alipay.trade.refund", biz, "refund")

    def bill(self, day: date) -> HttpCall:
        """Where the day's trade bill is (``alipay.data.dataservice.bill.downloadurl.query``)."""
        biz = {"bill_type": "trade", "bill_date": day.isoformat()}
        return self._call(BILL_METHOD, biz, "bill")

    def refund_query(self, refund: Refund) -> HttpCall:
        """``alipay.trade.fastpay.refund.query`` by out_request_no (payment id = parent id)."""
        biz = {
            "out_trade_no": out_trade_no(refund.parent_id),
            "out_request_no": out_trade_no(refund.id),
        }
        return self._call("alipay.trade.fastpay.refund.query", biz, "refund_query")
