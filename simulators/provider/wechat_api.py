"""The simulated WeChat Pay API v3: signed requests in, signed answers out.

Every request must carry a valid merchant ``Authorization`` (else 401 SIGN_ERROR, nothing
done); every answer, 204 included, carries the five ``Wechatpay-*`` headers, signed with
the platform certificate key or the public key as the request's ``Wechatpay-Serial`` (or
the configured key mode) asks, so ``wechatpayv3`` accepts it as its gateway.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding

from paychannels.providers import rsa
from paychannels.providers.bills import gzip_bytes
from paychannels.providers.wechatpay.resource import ResourceCipher
from paychannels.providers.wechatpay.signing import (
    parse_authorization,
    request_message,
    sign_headers,
)
from paychannels.security.jsontext import strict_object
from paychannels.security.verification import CallbackRejected, strict_b64decode
from paychannels.simulators.provider.bills import DEFAULT_FEE_RATE, wechat_bill
from paychannels.simulators.provider.book import Book, Conflict, Order, OrderStatus
from paychannels.simulators.provider.keys import SimKeys
from paychannels.simulators.provider.messages import compact, wechat_refund, wechat_transaction
from paychannels.simulators.provider.script import Script
from paychannels.simulators.provider.server import DROP, Request, Response
from paychannels.simulators.provider.wechat_codepay import WechatCodeDesk

__all__ = ["KEY_MODES", "WechatApi"]

KEY_MODES = ("both", "certificate", "public_key")
_CREATE = re.compile(r"^/v3/pay/transactions/(native|app|jsapi)$")
_BY_NO = re.compile(r"^/v3/pay/transactions/out-trade-no/([^/]+)$")
_BY_ID = re.compile(r"^/v3/pay/transactions/id/([^/]+)$")
_CLOSE = re.compile(r"^/v3/pay/transactions/out-trade-no/([^/]+)/close$")
_REFUND_Q = re.compile(r"^/v3/refund/domestic/refunds/([^/]+)$")
_NUMBER = re.compile(r"^[A-Za-z0-9_\-|*]{6,32}$")

Hook = Callable[[Order, str], None]


class WechatApi:
    """Answers ``/v3/...`` for the simulator's one merchant."""

    def __init__(
        self, keys: SimKeys, book: Book, script: Script, *, key_mode: str, on_order: Hook,
        on_refund: Callable[[Order, str, str], None], codepay: WechatCodeDesk | None = None,
    ) -> None:  # fmt: skip
        if key_mode not in KEY_MODES:
            raise ValueError(f"key_mode must be one of {KEY_MODES}")
        self.keys, self.book, self.script = keys, book, script
        self.key_mode = key_mode
        self._on_order = on_order
        self._on_refund = on_refund
        self.codepay = codepay
        self._bills: dict[str, bytes] = {}
        #: the share of each trade the bill's 手续费 shows kept back (0.006: 0.6 %)
        self.fee_rate = DEFAULT_FEE_RATE
        self._merchant = rsa.load_public_key(
            keys.merchant_cert.public_bytes(Encoding.PEM), option="merchant certificate"
        )

    # -- answering ------------------------------------------------------------------------------

    def _signer(self, request: Request) -> tuple[rsa.PrivateKey, str]:
        asked = request.headers.get("Wechatpay-Serial")
        k = self.keys
        if asked == k.pubkey_id or self.key_mode == "public_key":
            return k.pubkey_key, k.pubkey_id
        if asked == k.platform_serial or self.key_mode == "certificate":
            return k.platform_key, k.platform_serial
        return k.platform_key, k.platform_serial

    def _answer(
        self, request: Request, status: int, body: bytes, *, garble: bool = False
    ) -> Response:
        key, serial = self._signer(request)
        headers = sign_headers(key, serial, body, timestamp=int(time.time()))
        if garble:
            headers["Wechatpay-Signature"] = headers["Wechatpay-Signature"][::-1]
        headers["Request-ID"] = str(uuid.uuid4())
        if body:
            headers["Content-Type"] = "application/json; charset=utf-8"
        return Response(status, headers, body)

    def _error(self, request: Request, status: int, code: str, message: str) -> Response:
        return self._answer(request, status, compact({"code": code, "message": message}))

    # -- dispatch ---------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Answer one API request (authenticated first)."""
        problem = self._authenticate(request)
        if problem is not None:
            return self._error(request, 401, "SIGN_ERROR", problem)
        path, method = request.path, request.method
        if self.codepay is not None:
            answered = self.codepay.handle(
                request,
                answer=lambda r, status, body: self._answer(r, status, body),
                error=self._error,
                faulted=self._faulted,
            )
            if answered is not None:
                return answered
        if method == "POST" and (m := _CREATE.match(path)):
            trade_type = m.group(1)
            return self._faulted(request, lambda: self._create(request, trade_type))
        if method == "POST" and (m := _CLOSE.match(path)):
            return self._close(request, m.group(1))
        if method == "GET" and (m := _BY_NO.match(path)):
            self.book.queried(m.group(1))
            return self._query(request, self.book.get("wechatpay", m.group(1)))
        if method == "GET" and (m := _BY_ID.match(path)):
            return self._query(request, self.book.by_trade_no("wechatpay", m.group(1)))
        if method == "POST" and path == "/v3/refund/domestic/refunds":
            return self._faulted(request, lambda: self._refund(request))
        if method == "GET" and (m := _REFUND_Q.match(path)):
            return self._refund_query(request, m.group(1))
        if method == "GET" and path == "/v3/certificates":
            return self._certificates(request)
        if method == "GET" and path == "/v3/bill/tradebill":
            return self._tradebill(request)
        if method == "GET" and path == "/v3/billdownload/file":
            return self._bill_file(request)
        return self._error(request, 404, "NOT_FOUND", "无此接口")

    def _authenticate(self, request: Request) -> str | None:
        try:
            fields = parse_authorization(request.headers.one("Authorization"))
            raw = strict_b64decode(fields["signature"], where="signature")
        except CallbackRejected as exc:
            return f"Authorization 格式错误: {exc}"
        if fields["mchid"] != self.keys.mchid:
            return "商户号与签名不匹配"
        if fields["serial_no"].upper() != self.keys.merchant_serial:
            return "证书序列号不存在"
        ts = fields["timestamp"]
        if not ts.isdigit() or abs(time.time() - int(ts)) > 300:
            return "时间戳超出范围"
        message = request_message(
            request.method, request.target, ts, fields["nonce_str"], request.body
        )
        if not rsa.verify(self._merchant, message, raw):
            return "签名错误"
        return None

    def _faulted(self, request: Request, act: Callable[[], Response]) -> Response:
        fault = self.script.next_fault()
        match fault:
            case "lose_request":
                return DROP
            case "error_500":
                return self._error(request, 500, "SYSTEM_ERROR", "系统错误")
            case "decline":
                return self._error(request, 403, "RULE_LIMIT", "交易金额或次数超出限制")
        response = act()
        match fault:
            case "lose_reply":
                return DROP
            case "garble_reply":
                return self._answer(request, response.status, response.body, garble=True)
            case "slow":
                response.delay = self.script.slow_seconds
        return response

    # -- orders ---------------------------------------------------------------------------------

    def _create(self, request: Request, trade_type: str) -> Response:
        try:
            body = strict_object(request.body, where="body")
            order = self._order(body, trade_type)
        except (CallbackRejected, ValueError, KeyError, TypeError) as exc:
            return self._error(request, 400, "PARAM_ERROR", f"参数错误: {str(exc)[:120]}")
        try:
            stored, new = self.book.create(order)
        except Conflict:
            return self._error(request, 400, "INVALID_REQUEST", "201 商户订单号重复")
        if stored.status is OrderStatus.PAID:
            return self._error(request, 403, "ORDERPAID", "订单已支付")
        if stored.status is OrderStatus.CLOSED:
            return self._error(request, 400, "ORDER_CLOSED", "订单已关闭")
        if new:
            self._on_order(stored, self.script.next_payer())
        if trade_type == "native":
            return self._answer(request, 200, compact({"code_url": _code_url(stored)}))
        return self._answer(request, 200, compact({"prepay_id": "wx" + stored.trade_no[-30:]}))

    def _order(self, body: dict[str, Any], trade_type: str) -> Order:
        if body["appid"] != self.keys.appid or body["mchid"] != self.keys.mchid:
            raise ValueError("appid/mchid 不匹配")
        number = body["out_trade_no"]
        if not isinstance(number, str) or not _NUMBER.match(number):
            raise ValueError("out_trade_no")
        amount = body["amount"]
        total = amount["total"]
        if isinstance(total, bool) or not isinstance(total, int) or total <= 0:
            raise ValueError("amount.total")
        if amount.get("currency", "CNY") != "CNY":
            raise ValueError("amount.currency")
        description = body["description"]
        if not isinstance(description, str) or not 0 < len(description) <= 127:
            raise ValueError("description")
        if trade_type == "jsapi" and not body["payer"]["openid"]:
            raise ValueError("payer.openid")
        expires = datetime.fromisoformat(body["time_expire"]) if "time_expire" in body else None
        notify = body["notify_url"]
        if not isinstance(notify, str) or not notify.startswith(("http://", "https://")):
            raise ValueError("notify_url")
        return Order(
            provider="wechatpay",
            number=number,
            amount_minor=total,
            description=description,
            notify_url=notify,
            expires=expires,
            params=compact({k: body.get(k) for k in sorted(body)}).decode(),
            attach=str(body.get("attach", "")),
            trade_type=trade_type,
        )

    def _query(self, request: Request, order: Order | None) -> Response:
        if request.query.get("mchid") != self.keys.mchid:
            return self._error(request, 400, "PARAM_ERROR", "mchid 参数错误")
        if order is None:
            return self._error(request, 404, "ORDER_NOT_EXIST", "订单不存在")
        return self._answer(request, 200, compact(wechat_transaction(order, self.keys)))

    def _close(self, request: Request, number: str) -> Response:
        try:
            if strict_object(request.body, where="body").get("mchid") != self.keys.mchid:
                return self._error(request, 400, "PARAM_ERROR", "mchid 参数错误")
            self.book.close("wechatpay", number)
        except CallbackRejected:
            return self._error(request, 400, "PARAM_ERROR", "请求体不是 JSON")
        except Conflict as exc:
            if exc.code == "ORDERPAID":
                return self._error(request, 403, "ORDERPAID", "订单已支付")
            return self._error(request, 404, "ORDER_NOT_EXIST", "订单不存在")
        return self._answer(request, 204, b"")

    # -- refunds --------------------------------------------------------------------------------

    def _refund(self, request: Request) -> Response:
        try:
            body = strict_object(request.body, where="body")
            number, refund_no = body["out_trade_no"], body["out_refund_no"]
            amount = body["amount"]
            refund, total = int(amount["refund"]), int(amount["total"])
        except (CallbackRejected, KeyError, TypeError, ValueError) as exc:
            return self._error(request, 400, "PARAM_ERROR", f"参数错误: {str(exc)[:80]}")
        order = self.book.get("wechatpay", str(number))
        if order is None:
            return self._error(request, 404, "RESOURCE_NOT_EXISTS", "订单不存在")
        if total != order.amount_minor:
            return self._error(request, 400, "PARAM_ERROR", "订单金额与退款金额不一致")
        try:
            entry = self.book.refund("wechatpay", order.number, str(refund_no), refund)
        except Conflict as exc:
            return self._error(request, 400, "INVALID_REQUEST", str(exc))
        url = body.get("notify_url")
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            self._on_refund(order, entry.number, url)
        return self._answer(request, 200, compact(wechat_refund(order, entry, self.keys)))

    def _refund_query(self, request: Request, refund_no: str) -> Response:
        found = self.book.find_refund("wechatpay", refund_no)
        if found is None:
            return self._error(request, 404, "RESOURCE_NOT_EXISTS", "退款单不存在")
        order, entry = found
        return self._answer(request, 200, compact(wechat_refund(order, entry, self.keys)))

    # -- bills ------------------------------------------------------------------------------------

    def _tradebill(self, request: Request) -> Response:
        query = request.query
        try:
            day = date.fromisoformat(query.get("bill_date", ""))
        except ValueError:
            return self._error(request, 400, "PARAM_ERROR", "bill_date 格式错误")
        if query.get("bill_type", "ALL") != "ALL":
            return self._error(request, 400, "PARAM_ERROR", "本模拟器只提供 ALL 账单")
        codes = self.codepay.orders() if self.codepay is not None else []
        data = wechat_bill(self.book, self.keys, day, codes, fee_rate=self.fee_rate)
        if data is None:
            return self._error(request, 400, "NO_STATEMENT_EXIST", "当日无交易，账单不存在")
        gzipped = query.get("tar_type") == "GZIP"
        token = secrets.token_urlsafe(24)
        self._bills[token] = gzip_bytes(data) if gzipped else data
        host = request.headers.get("Host") or "127.0.0.1"
        answer = {
            "hash_type": "SHA1",
            "hash_value": hashlib.sha1(data, usedforsecurity=False).hexdigest(),
            "download_url": f"http://{host}/v3/billdownload/file?token={token}",
        }
        return self._answer(request, 200, compact(answer))

    def _bill_file(self, request: Request) -> Response:
        data = self._bills.get(request.query.get("token", ""))
        if data is None:
            return self._error(request, 404, "RESOURCE_NOT_EXISTS", "下载地址已失效")
        # WeChat Pay does not sign the file: the signed hash in the bill answer covers it
        return Response(200, {"Content-Type": "application/octet-stream"}, data)

    def _certificates(self, request: Request) -> Response:
        if self.key_mode == "public_key":
            return self._error(request, 500, "SYSTEM_ERROR", "该商户已使用微信支付公钥")
        cert = self.keys.platform_cert
        pem = cert.public_bytes(Encoding.PEM).decode()
        encrypted = ResourceCipher(self.keys.apiv3_key).encrypt(
            pem.encode(), associated_data="certificate", original_type="certificate"
        )
        encrypted.pop("original_type")
        item = {
            "serial_no": self.keys.platform_serial,
            "effective_time": cert.not_valid_before_utc.isoformat(),
            "expire_time": cert.not_valid_after_utc.isoformat(),
            "encrypt_certificate": encrypted,
        }
        return self._answer(request, 200, compact({"data": [item]}))


def _code_url(order: Order) -> str:
    return f"weixin://wxpay/bizpayurl?pr={order.trade_no[-10:]}"
