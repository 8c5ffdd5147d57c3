"""The simulated Alipay gateway (``/gateway.do``): RSA2-signed calls in, signed answers out.

Parameters come from the query string, the form body, or both (the official SDKs split
them), are verified with the application's public key (else ``isv.invalid-signature``,
nothing done), and answers are ``{"<method>_response": {...}, "sign": "..."}`` with the sign
over the exact member text, so ``python-alipay-sdk`` accepts this as its gateway.
A precreated trade exists only once the payer opens it: before, queries and closes answer
``ACQ.TRADE_NOT_EXIST``.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qsl

from paychannels.providers import rsa
from paychannels.providers.alipay import signing
from paychannels.providers.alipay.forms import decode_form
from paychannels.runtime.clock import BEIJING
from paychannels.security.verification import CallbackRejected
from paychannels.simulators.provider.alipay_codes import CodePayments
from paychannels.simulators.provider.bills import DEFAULT_FEE_RATE, alipay_bill
from paychannels.simulators.provider.book import Book, Conflict, Order, OrderStatus
from paychannels.simulators.provider.keys import SimKeys
from paychannels.simulators.provider.messages import alipay_trade, compact, yuan
from paychannels.simulators.provider.script import Script
from paychannels.simulators.provider.server import DROP, Request, Response
from paychannels.simulators.provider.wallets import Wallets

__all__ = ["BILL_PATH", "AlipayApi"]

#: where the simulated file host serves bill archives (the real one is dwbillcenter.alipay.com)
BILL_PATH = "/bill/alipay/"

_YUAN = re.compile(r"^(0|[1-9][0-9]{0,9})(\.[0-9]{1,2})?$")
_NUMBER = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_JSON = {"Content-Type": "application/json;charset=utf-8"}
_NOT_EXIST = {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_NOT_EXIST",
              "sub_msg": "交易不存在"}  # fmt: skip


def _fail(sub_code: str, sub_msg: str, code: str = "40004") -> dict[str, str]:
    msg = {"40004": "Business Failed", "40002": "Invalid Arguments"}.get(code, "Failed")
    return {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg}


def _minor(text: object) -> int:
    if not isinstance(text, str) or not _YUAN.match(text):
        raise ValueError("amount")
    whole, _, frac = text.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


class AlipayApi:
    """Answers the gateway for the simulator's one application."""

    def __init__(
        self, keys: SimKeys, book: Book, script: Script, *,
        on_order: Callable[[Order, str], None], on_refund: Callable[[Order, str], None],
        wallets: Wallets | None = None,
    ) -> None:  # fmt: skip
        self.keys, self.book, self.script = keys, book, script
        self._on_order, self._on_refund = on_order, on_refund
        self._app_public = keys.app_key.public_key()
        self.bills: dict[str, bytes] = {}
        self.codes = CodePayments(book, wallets or Wallets())
        #: the share of each trade the bill's 服务费 shows kept back (0.006: 0.6 %)
        self.fee_rate = DEFAULT_FEE_RATE

    def _answer(self, method: str, data: dict[str, Any], *, garble: bool = False) -> Response:
        node_name = method.replace(".", "_") + "_response"
        node = compact(data)
        sign = signing.sign(self.keys.alipay_key, node.decode("utf-8"))
        if garble:
            sign = sign[::-1]
        body = b'{"%s":%s,"sign":"%s"}' % (node_name.encode(), node, sign.encode())
        return Response(200, dict(_JSON), body)

    def params(self, request: Request) -> dict[str, str]:
        """Query and form parameters, merged; ``ValueError`` on repeats or a bad form."""
        params = dict(parse_qsl(request.query_string(), keep_blank_values=True))
        if request.method == "POST" and request.body:
            try:
                form = decode_form(request.body)
            except CallbackRejected as exc:
                raise ValueError(str(exc)) from None
            if set(form) & set(params):
                raise ValueError("a parameter is both in the query and the body")
            params.update(form)
        return params

    def verify(self, params: dict[str, str], public: rsa.PublicKey) -> str | None:
        """Why the request signature fails, or None when it is good."""
        if params.get("app_id") != self.keys.alipay_app_id:
            return "isv.invalid-app-id"
        if params.get("sign_type") != "RSA2" or not params.get("sign"):
            return "isv.invalid-signature"
        try:
            signing.verify(
                public, signing.request_content(params), params["sign"], where="sign",
                charset=params.get("charset", "utf-8"),
            )  # fmt: skip
        except CallbackRejected:
            return "isv.invalid-signature"
        return None

    def handle(self, request: Request) -> Response:
        """Answer one gateway call."""
        try:
            params = self.params(request)
        except ValueError as exc:
            return self._answer("error", _fail("isv.invalid-parameter", str(exc)[:80], "40002"))
        method = params.get("method", "")
        problem = self.verify(params, self._app_public)
        if problem is not None:
            return self._answer(method or "error", _fail(problem, "验签出错", "40002"))
        try:
            biz = json.loads(params.get("biz_content") or "{}")
            if not isinstance(biz, dict):
                raise ValueError("biz_content")
        except ValueError:
            return self._answer(method, _fail("isv.invalid-parameter", "biz_content", "40002"))
        match method:
            case "alipay.trade.precreate":
                return self._faulted(method, lambda: self._precreate(params, biz))
            case "alipay.trade.pay":
                return self._faulted(method, lambda: self.codes.pay(params, biz))
            case "alipay.trade.cancel":
                return self._faulted(method, lambda: self.codes.cancel(biz))
            case "alipay.trade.query":
                return self._answer(method, self._query(biz))
            case "alipay.trade.close":
                return self._answer(method, self._close(biz))
            case "alipay.trade.refund":
                return self._faulted(method, lambda: self._refund(biz))
            case "alipay.trade.fastpay.refund.query":
                return self._answer(method, self._refund_query(biz))
            case "alipay.data.dataservice.bill.downloadurl.query":
                return self._answer(method, self._bill(biz, request.headers.get("Host")))
        return self._answer("error", _fail("isv.invalid-method", "不存在的方法名", "40002"))

    def _faulted(self, method: str, act: Callable[[], dict[str, Any]]) -> Response:
        fault = self.script.next_fault()
        match fault:
            case "lose_request":
                return DROP
            case "error_500":
                return self._answer(method, _fail("isp.unknow-error", "系统繁忙", "20000"))
            case "decline":
                return self._answer(method, _fail("ACQ.TOTAL_FEE_EXCEED", "订单金额超过限额"))
        data = act()
        if fault == "lose_reply":
            return DROP
        response = self._answer(method, data, garble=fault == "garble_reply")
        if fault == "slow":
            response.delay = self.script.slow_seconds
        return response

    # -- trades -----------------------------------------------------------------------------------

    def new_order(self, params: dict[str, str], biz: dict[str, Any], product: str) -> Order:
        """An order from precreate or app-pay parameters; ``ValueError`` when invalid."""
        number = biz.get("out_trade_no")
        if not isinstance(number, str) or not _NUMBER.match(number):
            raise ValueError("out_trade_no")
        subject = biz.get("subject")
        if not isinstance(subject, str) or not subject or len(subject) > 256:
            raise ValueError("subject")
        expires = None
        if biz.get("time_expire"):
            expires = datetime.strptime(str(biz["time_expire"]), "%Y-%m-%d %H:%M:%S").replace(
                tzinfo=BEIJING
            )
        identity = {**biz, "notify_url": params.get("notify_url")}
        return Order(
            provider="alipay",
            number=number,
            amount_minor=_minor(biz.get("total_amount")),
            description=subject,
            notify_url=params.get("notify_url") or None,
            expires=expires,
            params=compact({k: identity[k] for k in sorted(identity)}).decode(),
            attach=number,
            trade_type=product,
        )

    def create(self, order: Order) -> dict[str, Any] | None:
        """Store an order; an error answer when it cannot be (re)created."""
        try:
            stored, new = self.book.create(order)
        except Conflict:
            return _fail("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
        if stored.status is OrderStatus.PAID:
            return _fail("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
        if stored.status is OrderStatus.CLOSED:
            return _fail("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
        if new:
            self._on_order(stored, self.script.next_payer())
        return None

    def _precreate(self, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
        try:
            order = self.new_order(params, biz, "precreate")
        except ValueError as exc:
            return _fail("ACQ.INVALID_PARAMETER", f"参数无效: {exc}")
        refused = self.create(order)
        if refused is not None:
            return refused
        stored = self.book.get("alipay", order.number)
        assert stored is not None
        return {
            "code": "10000",
            "msg": "Success",
            "out_trade_no": order.number,
            "qr_code": f"https://qr.alipay.com/bax{stored.trade_no[-20:]}",
        }

    def _visible(self, biz: dict[str, Any]) -> Order | None:
        order = self.book.get("alipay", str(biz.get("out_trade_no", "")))
        if order is None or order.status is OrderStatus.UNPAID:
            return None  # a precreated trade exists only once the payer opened it
        return order

    def _query(self, biz: dict[str, Any]) -> dict[str, Any]:
        self.book.queried(str(biz.get("out_trade_no", "")))
        order = self._visible(biz)
        if order is None:
            return dict(_NOT_EXIST)
        trade = alipay_trade(order)
        if "gmt_payment" in trade:
            trade["send_pay_date"] = trade.pop("gmt_payment")
        return {"code": "10000", "msg": "Success", **trade}

    def _close(self, biz: dict[str, Any]) -> dict[str, Any]:
        order = self._visible(biz)
        if order is None:
            return dict(_NOT_EXIST)
        if order.status is not OrderStatus.OPENED:
            return _fail("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        self.book.close("alipay", order.number)
        return {"code": "10000", "msg": "Success", "trade_no": order.trade_no,
                "out_trade_no": order.number}  # fmt: skip

    # -- refunds ----------------------------------------------------------------------------------

    def _refund(self, biz: dict[str, Any]) -> dict[str, Any]:
        order = self._visible(biz)
        if order is None:
            return dict(_NOT_EXIST)
        try:
            amount = _minor(biz.get("refund_amount"))
        except ValueError:
            return _fail("ACQ.INVALID_PARAMETER", "退款金额无效")
        request_no = str(biz.get("out_request_no") or order.number)
        before = order.refunds.get(request_no)
        try:
            entry = self.book.refund("alipay", order.number, request_no, amount)
        except Conflict as exc:
            if exc.code == "TRADE_STATUS_ERROR":
                return _fail("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
            return _fail("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
        if before is None:
            self.codes.refunded(order, entry.amount_minor)
            self._on_refund(order, entry.number)
        return {
            "code": "10000",
            "msg": "Success",
            "trade_no": order.trade_no,
            "out_trade_no": order.number,
            "fund_change": "N" if before is not None else "Y",
            "refund_fee": yuan(order.refunded_minor),
            "gmt_refund_pay": entry.created.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
        }

    def _refund_query(self, biz: dict[str, Any]) -> dict[str, Any]:
        order = self._visible(biz)
        request_no = str(biz.get("out_request_no", ""))
        entry = order.refunds.get(request_no) if order is not None else None
        if order is None or entry is None:
            return {"code": "10000", "msg": "Success"}
        return {
            "code": "10000",
            "msg": "Success",
            "trade_no": order.trade_no,
            "out_trade_no": order.number,
            "out_request_no": request_no,
            "total_amount": yuan(order.amount_minor),
            "refund_amount": yuan(entry.amount_minor),
            "refund_status": "REFUND_SUCCESS",
        }

    # -- bills ------------------------------------------------------------------------------------

    def _bill(self, biz: dict[str, Any], host: str | None) -> dict[str, Any]:
        if biz.get("bill_type") != "trade":
            return _fail("isv.invalid-bill-type", "本模拟器只提供 trade 账单", "40002")
        try:
            day = date.fromisoformat(str(biz.get("bill_date", "")))
        except ValueError:
            return _fail("isv.invalid-bill-date", "账单日期格式错误", "40002")
        data = alipay_bill(self.book, self.keys, day, fee_rate=self.fee_rate)
        if data is None:
            return _fail("isp.bill_not_exist", "账单不存在")
        token = secrets.token_urlsafe(24)
        self.bills[token] = data
        url = f"http://{host or '127.0.0.1'}{BILL_PATH}{token}"
        return {"code": "10000", "msg": "Success", "bill_download_url": url}

    def download(self, token: str) -> Response:
        """The archive behind a download URL (no signature: the URL's token is the key)."""
        data = self.bills.get(token)
        if data is None:
            return Response(404, {"Content-Type": "text/plain"}, b"expired")
        return Response(200, {"Content-Type": "application/zip"}, data)

    # -- the payer's app --------------------------------------------------------------------------

    def app_pay(self, order_string: bytes) -> Order:
        """The Alipay app receives a signed order string and creates the trade (opened)."""
        try:
            params = decode_form(order_string, where="order string")
        except CallbackRejected as exc:
            raise ValueError(str(exc)) from None
        problem = self.verify(params, self._app_public)
        if problem is not None:
            raise ValueError(problem)
        biz = json.loads(params.get("biz_content") or "{}")
        order = self.new_order(params, biz, "app")
        refused = self.create(order)
        if refused is not None:
            raise ValueError(refused["sub_code"])
        return self.book.open("alipay", order.number)
