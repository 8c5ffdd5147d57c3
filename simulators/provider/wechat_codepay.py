"""The simulated WeChat Pay 付款码支付 (v3 codepay): pay by code, query, reverse (撤销).

Direct (``/v3/pay/transactions/...``) and service-provider (``/v3/pay/partner/...``) forms.
A code pays once and expires; a payer with ``confirm_after`` > 0 makes the pay answer 202
``USERPAYING`` and queries answer ``USERPAYING`` until that many seconds have passed, then
the wallet is charged (or ``PAYERROR`` when the balance is short); a payer who walks away
never confirms. A reverse closes the order for good and returns the money of a paid one
(its query then shows ``REVOKED`` with the ``transaction_id`` and ``success_time`` it had).
Orders settle lazily, on the next touch or ``settle_due()``: no timers, no threads.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from paychannels.providers.wechatpay.calls import rfc3339
from paychannels.security.jsontext import strict_object
from paychannels.security.verification import CallbackRejected
from paychannels.simulators.provider.keys import SimKeys
from paychannels.simulators.provider.messages import compact, wechat_paid
from paychannels.simulators.provider.server import Request, Response
from paychannels.simulators.provider.wallets import CodeRefused, Wallets

__all__ = ["CodeOrder", "WechatCodeDesk"]

_PAY = re.compile(r"^/v3/pay(/partner)?/transactions/codepay$")
_REVERSE = re.compile(r"^/v3/pay(/partner)?/transactions/out-trade-no/([^/]+)/reverse$")
_QUERY = re.compile(r"^/v3/pay(/partner)?/transactions/out-trade-no/([^/]+)$")
_REFUND_Q = re.compile(r"^/v3/refund/domestic/refunds/([^/]+)$")
_NUMBER = re.compile(r"^[A-Za-z0-9_\-|*]{6,32}$")
_DESC = {
    "SUCCESS": "支付成功",
    "USERPAYING": "用户支付中（需要输入密码）",
    "PAYERROR": "支付失败，余额不足",
    "REVOKED": "已撤销",
}

Answer = Callable[[Request, int, bytes], Response]
Error = Callable[[Request, int, str, str], Response]
Faulted = Callable[[Request, Callable[[], Response]], Response]


@dataclass
class CodeOrder:
    """One payment-code order."""

    number: str
    amount_minor: int
    payer: str
    description: str
    attach: str
    sub_mchid: str | None
    trade_no: str
    state: str = "USERPAYING"
    confirm_at: float | None = None  # monotonic; None: the payer never confirms
    paid_at: datetime | None = None
    #: refunds of a paid order: out_refund_no -> (fen, refund_id, when)
    refunds: dict[str, tuple[int, str, datetime]] = field(default_factory=dict)

    @property
    def refunded_minor(self) -> int:
        """Money given back by refunds (a reverse is not a refund)."""
        return sum(amount for amount, _, _ in self.refunds.values())


class WechatCodeDesk:
    """The codepay endpoints of the simulated merchant (see the module docstring)."""

    def __init__(self, wallets: Wallets, keys: SimKeys) -> None:
        self.wallets = wallets
        self.keys = keys
        self._orders: dict[str, CodeOrder] = {}
        self._lock = threading.RLock()

    # -- routing --------------------------------------------------------------------------------

    def handle(
        self, request: Request, *, answer: Answer, error: Error, faulted: Faulted
    ) -> Response | None:
        """Answer a codepay, reverse or query of a code order; None: not ours."""
        path, method = request.path, request.method
        if method == "POST" and (m := _PAY.match(path)):
            partner = m.group(1) is not None
            return faulted(request, lambda: self._pay(request, partner, answer, error))
        if method == "POST" and (m := _REVERSE.match(path)):
            return self._reverse(request, m.group(2), m.group(1) is not None, answer, error)
        if method == "POST" and path == "/v3/refund/domestic/refunds":
            return self._refund(request, answer, error)
        if method == "GET" and (m := _REFUND_Q.match(path)):
            return self._refund_query(request, m.group(1), answer)
        if method == "GET" and (m := _QUERY.match(path)):
            order = self.order(m.group(2))
            if order is None and m.group(1) is None:
                return None  # a direct query about a Native/App order: the book's
            if order is None:
                return error(request, 404, "ORDER_NOT_EXIST", "订单不存在")
            return answer(request, 200, compact(self._transaction(order)))
        return None

    # -- the truth ------------------------------------------------------------------------------

    def order(self, number: str) -> CodeOrder | None:
        """A code order by out_trade_no, settled up to now."""
        with self._lock:
            order = self._orders.get(number)
            if order is not None:
                self._settle(order)
            return order

    def orders(self) -> list[CodeOrder]:
        """Every code order, settled up to now."""
        with self._lock:
            for order in self._orders.values():
                self._settle(order)
            return list(self._orders.values())

    def settle_due(self) -> None:
        """Every payer whose confirmation time has come confirms now."""
        self.orders()

    def confirm(self, number: str) -> CodeOrder:
        """The payer enters the password now (a test's or a demo's hand)."""
        with self._lock:
            order = self._orders[number]
            if order.state == "USERPAYING":
                order.confirm_at = self.wallets.clock()
                self._settle(order)
            return order

    def _settle(self, order: CodeOrder) -> None:
        due = order.confirm_at is not None and self.wallets.clock() >= order.confirm_at
        if order.state == "USERPAYING" and due:
            self._charge(order)

    def _charge(self, order: CodeOrder) -> None:
        if self.wallets.charge(order.payer, order.number, order.amount_minor):
            order.state, order.paid_at = "SUCCESS", datetime.now(UTC)
        else:
            order.state = "PAYERROR"

    # -- pay ------------------------------------------------------------------------------------

    def _pay(self, request: Request, partner: bool, answer: Answer, error: Error) -> Response:
        try:
            body = strict_object(request.body, where="body")
            sub_mchid = self._merchant(body, partner)
            number = body["out_trade_no"]
            total = body["amount"]["total"]
            code = body["payer"]["auth_code"]
            body["scene_info"]["store_info"]["out_id"]  # required by WeChat Pay
            if not isinstance(number, str) or not _NUMBER.match(number):
                raise ValueError("out_trade_no")
            if isinstance(total, bool) or not isinstance(total, int) or total <= 0:
                raise ValueError("amount.total")
            if not isinstance(code, str):
                raise ValueError("payer.auth_code")
        except (CallbackRejected, ValueError, KeyError, TypeError) as exc:
            return error(request, 400, "PARAM_ERROR", f"参数错误: {str(exc)[:80]}")
        with self._lock:
            if number in self._orders:
                return error(request, 400, "INVALID_REQUEST", "商户订单号重复")
            try:
                wallet = self.wallets.redeem(code, "wechatpay")
            except CodeRefused as exc:
                message = {
                    "expired": "101 付款码已过期，请刷新再试",
                    "used": "101 每个二维码仅限使用一次，请刷新再试",
                }.get(exc.kind, "101 付款码无效，请重新扫码")
                return error(request, 400, "AUTH_CODE_INVALID", message)
            delay = wallet.confirm_after
            order = CodeOrder(
                number=number,
                amount_minor=total,
                payer=wallet.payer,
                description=str(body.get("description", "")),
                attach=str(body.get("attach", "")),
                sub_mchid=sub_mchid,
                trade_no="4200" + "".join(secrets.choice("0123456789") for _ in range(24)),
                confirm_at=None if delay is None else self.wallets.clock() + delay,
            )
            self._orders[number] = order
            if delay == 0:
                self._charge(order)
                if order.state == "PAYERROR":
                    return error(request, 403, "NOTENOUGH", "余额不足")
                return answer(request, 200, compact(self._transaction(order)))
        return error(request, 202, "USERPAYING", "用户支付中，需要输入密码")

    def _merchant(self, body: dict[str, Any], partner: bool) -> str | None:
        k = self.keys
        if partner:
            if body["sp_mchid"] != k.mchid or body["sp_appid"] != k.appid:
                raise ValueError("sp_mchid/sp_appid 不匹配")
            sub = body["sub_mchid"]
            if not isinstance(sub, str) or not sub.isdigit():
                raise ValueError("sub_mchid")
            return sub
        if body["mchid"] != k.mchid or body["appid"] != k.appid:
            raise ValueError("appid/mchid 不匹配")
        return None

    # -- reverse --------------------------------------------------------------------------------

    def _reverse(
        self, request: Request, number: str, partner: bool, answer: Answer, error: Error
    ) -> Response:
        try:
            body = strict_object(request.body, where="body")
            sub = self._merchant(body, partner)
        except (CallbackRejected, ValueError, KeyError, TypeError) as exc:
            return error(request, 400, "PARAM_ERROR", f"参数错误: {str(exc)[:80]}")
        with self._lock:
            order = self.order(number)
            if order is None or order.sub_mchid != sub:
                return error(request, 404, "ORDER_NOT_EXIST", "订单不存在")
            if order.state == "SUCCESS":
                self.wallets.give_back(order.payer, order.number, order.amount_minor)
            order.state = "REVOKED"
        return answer(request, 200, compact({**self._ids(order), "out_trade_no": number}))

    # -- refunds --------------------------------------------------------------------------------

    def _refund(self, request: Request, answer: Answer, error: Error) -> Response | None:
        try:
            body = strict_object(request.body, where="body")
            number, refund_no = str(body["out_trade_no"]), str(body["out_refund_no"])
            amount = int(body["amount"]["refund"])
        except (CallbackRejected, KeyError, TypeError, ValueError):
            return None  # the book answers what is not ours
        with self._lock:
            order = self.order(number)
            if order is None:
                return None
            if refund_no in order.refunds:
                return answer(request, 200, compact(self._refund_object(order, refund_no)))
            if order.state != "SUCCESS":
                return error(request, 403, "TRADE_STATUS_ERROR", "订单状态不允许退款")
            if amount <= 0 or order.refunded_minor + amount > order.amount_minor:
                return error(request, 400, "INVALID_REQUEST", "退款金额超过订单可退金额")
            refund_id = "50" + "".join(secrets.choice("0123456789") for _ in range(26))
            order.refunds[refund_no] = (amount, refund_id, datetime.now(UTC))
            self.wallets.give_back(order.payer, order.number, amount)
            return answer(request, 200, compact(self._refund_object(order, refund_no)))

    def _refund_query(self, request: Request, refund_no: str, answer: Answer) -> Response | None:
        with self._lock:
            for order in self._orders.values():
                if refund_no in order.refunds:
                    return answer(request, 200, compact(self._refund_object(order, refund_no)))
        return None

    def _refund_object(self, order: CodeOrder, refund_no: str) -> dict[str, Any]:
        amount, refund_id, when = order.refunds[refund_no]
        return {
            "refund_id": refund_id,
            "out_refund_no": refund_no,
            "transaction_id": order.trade_no,
            "out_trade_no": order.number,
            "channel": "ORIGINAL",
            "create_time": rfc3339(when),
            "status": "SUCCESS",
            "amount": {
                "total": order.amount_minor,
                "refund": amount,
                "payer_total": order.amount_minor,
                "payer_refund": amount,
                "currency": "CNY",
            },
        }

    # -- answers --------------------------------------------------------------------------------

    def _ids(self, order: CodeOrder) -> dict[str, Any]:
        k = self.keys
        if order.sub_mchid is None:
            return {"appid": k.appid, "mchid": k.mchid}
        return {"sp_appid": k.appid, "sp_mchid": k.mchid, "sub_mchid": order.sub_mchid}

    def _transaction(self, order: CodeOrder) -> dict[str, Any]:
        data: dict[str, Any] = {
            **self._ids(order),
            "out_trade_no": order.number,
            "trade_type": "MICROPAY",
            "trade_state": order.state,
            "trade_state_desc": _DESC[order.state],
            "attach": order.attach,
            "amount": {"total": order.amount_minor, "currency": "CNY"},
        }
        if order.paid_at is not None:  # paid (and perhaps since reversed)
            wechat_paid(data, order.trade_no, order.paid_at, order.amount_minor)
        return data
