"""The simulated Alipay's 当面付 条码支付: ``alipay.trade.pay`` with a scanned code, and cancel.

A pay call redeems the payer's one-time code (unknown or expired:
``ACQ.PAYMENT_AUTH_CODE_INVALID`` 支付授权码无效; used: the same code, 付款码已使用 — Alipay
publishes one sub_code for both) and creates the trade. A payer without a password step
pays at once (10000); one with a step leaves the trade WAIT_BUYER_PAY (10003) for
``confirm_after`` seconds, then pays if the trade is still open and the balance suffices; one
who walks away never pays. A short balance is ``ACQ.BUYER_BALANCE_NOT_ENOUGH``.
``alipay.trade.cancel`` closes a waiting trade (``action=close``) or returns a paid one's
money to the wallet (``action=refund``; the trade then queries TRADE_CLOSED).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from paychannels.simulators.provider.book import Book, Conflict, Order, OrderStatus
from paychannels.simulators.provider.messages import beijing, compact, yuan
from paychannels.simulators.provider.wallets import CodeRefused, Wallet, Wallets

__all__ = ["CodePayments"]

_NUMBER = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_YUAN = re.compile(r"^(0|[1-9][0-9]{0,9})(\.[0-9]{1,2})?$")
_WHY = {"invalid": "支付授权码无效", "expired": "支付授权码已过期", "used": "付款码已使用"}


def _fail(sub_code: str, sub_msg: str, code: str = "40004") -> dict[str, str]:
    msg = {"40004": "Business Failed", "40002": "Invalid Arguments"}.get(code, "Failed")
    return {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg}


def _buyer_id(wallet: Wallet) -> str:
    """A stable 2088… buyer id for a payer (Alipay's user ids are 16 digits)."""
    digits = "".join(c for c in hashlib.sha256(wallet.payer.encode()).hexdigest() if c.isdigit())
    return "2088" + (digits + "0" * 12)[:12]


class CodePayments:
    """Scanned-code trades on the simulator's book, paid from the payers' wallets."""

    def __init__(self, book: Book, wallets: Wallets) -> None:
        self.book = book
        self.wallets = wallets
        self._payer: dict[str, Wallet] = {}  # order number -> the wallet that pays it
        self._timers: list[threading.Timer] = []

    def pay(self, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
        """Answer ``alipay.trade.pay``."""
        number, code = biz.get("out_trade_no"), biz.get("auth_code")
        if not isinstance(number, str) or not _NUMBER.match(number):
            return _fail("ACQ.INVALID_PARAMETER", "参数无效: out_trade_no")
        if biz.get("scene") != "bar_code" or not isinstance(code, str) or not code.isdigit():
            return _fail("ACQ.INVALID_PARAMETER", "参数无效: scene/auth_code")
        if biz.get("product_code", "FACE_TO_FACE_PAYMENT") != "FACE_TO_FACE_PAYMENT":
            return _fail("ACQ.ACCESS_FORBIDDEN", "产品码不支持")
        amount = biz.get("total_amount")
        if not isinstance(amount, str) or not _YUAN.match(amount) or amount in ("0", "0.0"):
            return _fail("ACQ.INVALID_PARAMETER", "参数无效: total_amount")
        whole, _, frac = amount.partition(".")
        minor = int(whole) * 100 + int((frac + "00")[:2])
        with self.book.lock:
            known = self.book.get("alipay", number)
            if known is not None:
                return self._again(known)
            try:
                wallet = self.wallets.redeem(code, "alipay")
            except CodeRefused as exc:
                return _fail("ACQ.PAYMENT_AUTH_CODE_INVALID", _WHY[exc.kind])
            order = self._create(number, minor, biz, params)
            self._payer[number] = wallet
            if wallet.balance_minor < minor:
                self.book.close("alipay", number)
                return _fail("ACQ.BUYER_BALANCE_NOT_ENOUGH", "买家余额不足")
            if wallet.confirm_after == 0:
                self._charge(order)
                return self._paid(order)
            if wallet.confirm_after is not None:
                self._later(wallet.confirm_after, number)
            return {"code": "10003", "msg": "Waiting for the buyer to pay (等待用户付款)",
                    "out_trade_no": number, "trade_no": order.trade_no,
                    "total_amount": yuan(minor)}  # fmt: skip

    def _create(
        self, number: str, minor: int, biz: dict[str, Any], params: dict[str, str]
    ) -> Order:
        expires = None
        if isinstance(biz.get("timeout_express"), str) and biz["timeout_express"].endswith("m"):
            minutes = int(biz["timeout_express"][:-1] or 0)
            expires = datetime.now(UTC) + timedelta(minutes=minutes)
        subject = str(biz.get("subject") or "")[:256]
        identity = {k: v for k, v in biz.items() if k != "auth_code"}  # the code is not kept
        order = Order(
            provider="alipay", number=number, amount_minor=minor, description=subject,
            notify_url=params.get("notify_url") or None, expires=expires,
            params=compact(identity).decode(), attach=number, trade_type="bar_code",
        )  # fmt: skip
        stored, _ = self.book.create(order)
        self.book.open("alipay", number)
        return stored

    def _again(self, order: Order) -> dict[str, Any]:
        """The same out_trade_no paid again: Alipay refuses; the query tells the state."""
        match order.status:
            case OrderStatus.PAID:
                return _fail("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
            case OrderStatus.CLOSED:
                return _fail("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
            case _:
                return {"code": "10003", "msg": "Waiting for the buyer to pay (等待用户付款)",
                        "out_trade_no": order.number, "trade_no": order.trade_no}  # fmt: skip

    def _charge(self, order: Order) -> bool:
        """The payer confirms: the wallet is debited and the trade paid, under the book's lock."""
        with self.book.lock:
            current = self.book.get("alipay", order.number)
            wallet = self._payer.get(order.number)
            if current is None or wallet is None or current.status is not OrderStatus.OPENED:
                return False
            if not self.wallets.charge(wallet.payer, current.number, current.amount_minor):
                self.book.close("alipay", current.number)
                return False
            self.book.pay("alipay", current.number)
            return True

    def confirm(self, number: str) -> bool:
        """The payer enters the password now (tests); False if the trade is no longer open."""
        order = self.book.get("alipay", number)
        return order is not None and self._charge(order)

    def _paid(self, order: Order) -> dict[str, Any]:
        wallet = self._payer[order.number]
        assert order.paid_at is not None
        return {"code": "10000", "msg": "Success", "out_trade_no": order.number,
                "trade_no": order.trade_no, "buyer_user_id": _buyer_id(wallet),
                "buyer_logon_id": "pay***@example.com", "total_amount": yuan(order.amount_minor),
                "receipt_amount": yuan(order.amount_minor),
                "gmt_payment": beijing(order.paid_at)}  # fmt: skip

    def cancel(self, biz: dict[str, Any]) -> dict[str, Any]:
        """Answer ``alipay.trade.cancel``: close a waiting trade, return a paid one's money."""
        number = str(biz.get("out_trade_no", ""))
        with self.book.lock:
            order = self.book.get("alipay", number)
            answer: dict[str, Any] = {"code": "10000", "msg": "Success", "out_trade_no": number,
                                      "retry_flag": "N"}  # fmt: skip
            if order is None:
                return answer  # no trade: nothing to do, nothing can be paid later
            answer["trade_no"] = order.trade_no
            if order.status is OrderStatus.PAID:
                if order.refunded_minor < order.amount_minor:
                    left = order.amount_minor - order.refunded_minor
                    self.book.refund("alipay", number, number, left)
                    wallet = self._payer.get(number)
                    if wallet is not None:
                        self.wallets.give_back(wallet.payer, number, left)
                answer["action"] = "refund"
                return answer
            if order.status is not OrderStatus.CLOSED:
                self.book.close("alipay", number)
            answer["action"] = "close"
            return answer

    def refunded(self, order: Order, amount_minor: int) -> None:
        """A refund (alipay.trade.refund) of a code trade goes back to its payer's wallet."""
        wallet = self._payer.get(order.number)
        if wallet is not None:
            self.wallets.give_back(wallet.payer, order.number, amount_minor)

    def _later(self, seconds: float, number: str) -> None:
        def run() -> None:
            with contextlib.suppress(Conflict):
                self.confirm(number)

        timer = threading.Timer(seconds, run)
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def stop(self) -> None:
        """Forget payers still entering their password."""
        for timer in self._timers:
            timer.cancel()
