"""WeChat Pay API v3 requests: paths, JSON bodies, and the signed ``Authorization``.

Bodies are compact UTF-8 JSON and are signed exactly as sent. Everything that goes into a
create-order body is derived from the payment (amount, out_trade_no, expiry from its
creation time), so a retry after NOT_SENT sends the very same order and WeChat Pay returns
the same ``code_url`` / ``prepay_id`` instead of refusing a changed duplicate.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from paychannels._version import __version__
from paychannels.providers import rsa
from paychannels.providers.base import HttpCall
from paychannels.providers.wechatpay.bill import bill_path
from paychannels.providers.wechatpay.config import WechatPayConfig
from paychannels.providers.wechatpay.signing import authorization, new_nonce
from paychannels.runtime.clock import BEIJING
from paychannels.values.errors import InvalidRequest
from paychannels.values.models import Payment, Record, Refund

__all__ = ["BEIJING", "Calls", "is_trade_no", "out_refund_no", "out_trade_no"]

_TRADE_NO = re.compile(r"^[A-Za-z0-9_\-|*]{6,32}$")
_REFUND_NO = re.compile(r"^[A-Za-z0-9_\-|*@]{1,64}$")
_USER_AGENT = f"paychannels/{__version__}"


def out_trade_no(record_id: str) -> str:
    """Our payment id is the ``out_trade_no`` (6-32 of ``[A-Za-z0-9_-|*]``)."""
    if not _TRADE_NO.match(record_id):
        raise InvalidRequest(f"{record_id!r} cannot be a WeChat Pay out_trade_no (6-32 chars)")
    return record_id


def is_trade_no(number: str) -> bool:
    """True when a provider's order number can be one of our payment ids (hot path: no raise)."""
    return _TRADE_NO.match(number) is not None


def out_refund_no(record_id: str) -> str:
    """Our refund id is the ``out_refund_no`` (1-64 of ``[A-Za-z0-9_-|*@]``)."""
    if not _REFUND_NO.match(record_id):
        raise InvalidRequest(f"{record_id!r} cannot be a WeChat Pay out_refund_no")
    return record_id


def _json(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def rfc3339(moment: datetime) -> str:
    """``2026-01-05T17:30:00+08:00``: the form WeChat Pay takes for times."""
    return moment.astimezone(BEIJING).replace(microsecond=0).isoformat()


class Calls:
    """Builds signed calls for one merchant."""

    def __init__(self, config: WechatPayConfig, *, now: Callable[[], float]) -> None:
        self.config = config
        self._now = now

    def signed(self, method: str, path: str, body: bytes, action: str) -> HttpCall:
        """A call with our ``Authorization`` (for the payment-code calls beside these)."""
        return self._signed(method, path, body, action)

    def _signed(self, method: str, path: str, body: bytes, action: str) -> HttpCall:
        cfg = self.config
        ts = str(int(self._now()))
        auth = authorization(
            cfg.private_key,
            mchid=cfg.mchid,
            serial_no=cfg.merchant_serial,
            method=method,
            path=path,
            body=body,
            timestamp=ts,
            nonce=new_nonce(),
        )
        headers = [
            ("Authorization", auth),
            ("Accept", "application/json"),
            ("User-Agent", _USER_AGENT),
        ]
        if body:
            headers.append(("Content-Type", "application/json; charset=utf-8"))
        serial = cfg.keys.preferred_serial()
        if serial is not None:
            headers.append(("Wechatpay-Serial", serial))
        return HttpCall(method, path, body, tuple(headers), action)

    def create(self, payment: Payment, expires_at: datetime) -> HttpCall:
        """Native / App / JSAPI prepay for one payment."""
        cfg = self.config
        if payment.amount.currency.code != "CNY":
            raise InvalidRequest(
                f"{payment.id}: WeChat Pay takes CNY, not {payment.amount.currency}"
            )
        body: dict[str, Any] = {
            "appid": cfg.appid,
            "mchid": cfg.mchid,
            "description": _description(payment),
            "out_trade_no": out_trade_no(payment.id),
            "time_expire": rfc3339(expires_at),
            "attach": payment.id,
            "notify_url": cfg.notify_url,
            "amount": {"total": payment.amount.minor, "currency": payment.amount.currency.code},
        }
        if cfg.trade_type == "jsapi":
            openid = payment.metadata.get("openid")
            if not openid:
                raise InvalidRequest(f"{payment.id}: JSAPI payments need metadata['openid']")
            body["payer"] = {"openid": openid}
        path = f"/v3/pay/transactions/{cfg.trade_type}"
        return self._signed("POST", path, _json(body), "create")

    def query(self, record: Record) -> HttpCall:
        """Order query by out_trade_no."""
        no = quote(out_trade_no(record.id), safe="")
        path = f"/v3/pay/transactions/out-trade-no/{no}?mchid={self.config.mchid}"
        return self._signed("GET", path, b"", "query")

    def close(self, payment: Payment) -> HttpCall:
        """Close an unpaid order (answers 204)."""
        no = quote(out_trade_no(payment.id), safe="")
        path = f"/v3/pay/transactions/out-trade-no/{no}/close"
        return self._signed("POST", path, _json({"mchid": self.config.mchid}), "close")

    def refund(self, refund: Refund, payment: Payment) -> HttpCall:
        """Domestic refund of (part of) a paid order."""
        total = payment.amount_taken or payment.amount
        body: dict[str, Any] = {
            "out_trade_no": out_trade_no(payment.id),
            "out_refund_no": out_refund_no(refund.id),
            "reason": (refund.description or payment.description or "退款")[:80],
            "amount": {
                "refund": refund.amount.minor,
                "total": total.minor,
                "currency": total.currency.code,
            },
        }
        if self.config.refund_notify_url:
            body["notify_url"] = self.config.refund_notify_url
        if self.config.sub_mchid:
            body["sub_mchid"] = self.config.sub_mchid
        return self._signed("POST", "/v3/refund/domestic/refunds", _json(body), "refund")

    def refund_query(self, refund: Refund) -> HttpCall:
        """Refund query by out_refund_no."""
        no = quote(out_refund_no(refund.id), safe="")
        return self._signed("GET", f"/v3/refund/domestic/refunds/{no}", b"", "refund_query")

    def bill(self, day: date) -> HttpCall:
        """Where the day's trade bill is (all trades, gzip)."""
        return self._signed("GET", bill_path(day), b"", "bill")

    def download(self, path: str) -> HttpCall:
        """The signed fetch of a bill file on the API host (path with its query)."""
        return self._signed("GET", path, b"", "bill_download")

    def certificates(self) -> HttpCall:
        """Download the platform certificates (certificate mode only)."""
        return self._signed("GET", "/v3/certificates", b"", "certificates")

    def client_params(self, prepay_id: str) -> dict[str, str]:
        """What the App or JSAPI client needs to open the payment, signed by us."""
        cfg = self.config
        ts, nonce = str(int(self._now())), new_nonce()
        if cfg.trade_type == "app":
            message = f"{cfg.appid}\n{ts}\n{nonce}\n{prepay_id}\n".encode()
            return {
                "appid": cfg.appid,
                "partnerid": cfg.mchid,
                "prepayid": prepay_id,
                "package": "Sign=WXPay",
                "noncestr": nonce,
                "timestamp": ts,
                "sign": rsa.sign(cfg.private_key, message),
            }
        package = f"prepay_id={prepay_id}"
        message = f"{cfg.appid}\n{ts}\n{nonce}\n{package}\n".encode()
        return {
            "appId": cfg.appid,
            "timeStamp": ts,
            "nonceStr": nonce,
            "package": package,
            "signType": "RSA",
            "paySign": rsa.sign(cfg.private_key, message),
        }


def _description(payment: Payment) -> str:
    text = payment.description or payment.reference
    return text[:127]
