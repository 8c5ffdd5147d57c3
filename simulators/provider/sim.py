"""The provider simulator: WeChat Pay v3 and Alipay on one HTTP port, payers, and a notifier.

``ProviderSimulator(...).start()`` serves ``/v3/...`` (WeChat Pay), ``/gateway.do`` (Alipay)
and ``/_sim/...`` (control: pay, open, expire, faults, payers, lose an order's callbacks,
orders, delivery attempts).
Payers act on each new order as scripted; every paid order, closed Alipay trade and refund
is news the notifier delivers to the order's ``notify_url`` on the provider's retry
schedule, or, with ``auto_notify=False``, when a test calls :meth:`deliver`.
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from paychannels.simulators.provider.alipay_api import BILL_PATH, AlipayApi
from paychannels.simulators.provider.bills import DEFAULT_FEE_RATE
from paychannels.simulators.provider.book import Book, Conflict, Order, OrderStatus
from paychannels.simulators.provider.keys import SimKeys
from paychannels.simulators.provider.messages import (
    alipay_notify,
    alipay_trade,
    wechat_notification,
    wechat_refund,
    wechat_signed,
    wechat_transaction,
)
from paychannels.simulators.provider.notifier import (
    ALIPAY_SCHEDULE,
    WECHAT_SCHEDULE,
    Attempt,
    Notification,
    Notifier,
    NotifyFaults,
)
from paychannels.simulators.provider.script import Script
from paychannels.simulators.provider.server import Request, Response, SimServer
from paychannels.simulators.provider.wallets import Wallets
from paychannels.simulators.provider.wechat_api import WechatApi
from paychannels.simulators.provider.wechat_codepay import WechatCodeDesk

__all__ = ["ProviderSimulator"]

_JSON = {"Content-Type": "application/json; charset=utf-8"}


def _wechat_ok(response: httpx.Response) -> bool:
    return response.status_code in (200, 204)


def _alipay_ok(response: httpx.Response) -> bool:
    return response.content.strip() == b"success"


class ProviderSimulator:
    """See the module docstring; ``keys`` default to freshly generated ones."""

    def __init__(
        self,
        keys: SimKeys | None = None,
        *,
        port: int = 0,
        key_mode: str = "both",
        script: Script | None = None,
        time_scale: float = 1.0,
        faults: NotifyFaults | None = None,
        auto_notify: bool = True,
        notify_timeout: float = 5.0,
        notify_workers: int = 8,
        seed: int | None = None,
        fee_rate: Decimal = DEFAULT_FEE_RATE,
    ) -> None:
        self.keys = keys or SimKeys.generate()
        self.book = Book()
        self.script = script or Script()
        self.time_scale = time_scale
        self.auto_notify = auto_notify
        self.key_mode = key_mode
        self._random = random.Random(seed)  # noqa: S311 - simulation, not security
        self.notifier = Notifier(
            time_scale=time_scale,
            timeout=notify_timeout,
            workers=notify_workers,
            faults=faults,
            seed=seed,
        )
        #: payers' wallets and their one-time payment codes (付款码)
        self.wallets = Wallets()
        self.codepay = WechatCodeDesk(self.wallets, self.keys)
        self.wechat = WechatApi(
            self.keys, self.book, self.script, key_mode=key_mode,
            on_order=self._new_order, on_refund=self._wechat_refunded, codepay=self.codepay,
        )  # fmt: skip
        self.alipay = AlipayApi(
            self.keys, self.book, self.script,
            on_order=self._new_order, on_refund=self._alipay_refunded, wallets=self.wallets,
        )  # fmt: skip
        self.wechat.fee_rate = self.alipay.fee_rate = fee_rate  # what the bills keep back
        self.server = SimServer(self._route, port=port)
        self._timers: list[threading.Timer] = []

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> ProviderSimulator:
        """Start serving on 127.0.0.1."""
        self.server.start()
        return self

    @property
    def url(self) -> str:
        """Base URL (WeChat Pay API root)."""
        return self.server.url

    @property
    def alipay_gateway(self) -> str:
        """The Alipay gateway URL."""
        return self.server.url + "/gateway.do"

    def stop(self) -> None:
        """Stop timers, the notifier and the server."""
        for timer in self._timers:
            timer.cancel()
        self.alipay.codes.stop()
        self.notifier.close()
        self.server.stop()

    def __enter__(self) -> ProviderSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- routing -----------------------------------------------------------------------------

    def _route(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/v3/"):
            return self.wechat.handle(request)
        if path == "/gateway.do":
            return self.alipay.handle(request)
        if path.startswith(BILL_PATH) and request.method == "GET":
            return self.alipay.download(path.removeprefix(BILL_PATH))
        if path.startswith("/_sim/"):
            return self._control(request, path.removeprefix("/_sim/"))
        return Response(404, {"Content-Type": "text/plain"}, b"not a provider endpoint")

    def _control(self, request: Request, action: str) -> Response:
        try:
            if request.method == "GET" and action == "orders":
                return _json([_order_info(o) for o in self.book.orders()])
            if request.method == "GET" and action == "attempts":
                return _json([a.__dict__ for a in self.notifier.attempts()])
            if request.method != "POST":
                return _json({"error": "POST expected"}, 405)
            if action == "alipay/app_pay":
                return _json(_order_info(self.alipay.app_pay(request.body)))
            data = json.loads(request.body or b"{}")
            if action == "wallet":  # a payer: balance (fen), seconds to confirm (null: never)
                w = self.wallets.open(
                    str(data["payer"]), int(data["balance_minor"]),
                    confirm_after=data.get("confirm_after", 0.0),
                )  # fmt: skip
                return _json({"payer": w.payer, "balance_minor": w.balance_minor})
            if action == "code":  # a fresh one-time payment code of that payer
                code = self.wallets.code(str(data["payer"]), str(data.get("provider", "wechatpay")))
                return _json({"code": code})
            if action == "fault":
                self.script.fault(*data["faults"])
                return _json({"queued": data["faults"]})
            if action == "payer":
                self.script.payer(*data["payers"])
                return _json({"queued": data["payers"]})
            if action == "lose":  # every callback about this order is lost on the way
                self.notifier.lose(str(data["out_trade_no"]))
                return _json({"lost": data["out_trade_no"]})
            provider, number = data["provider"], data["out_trade_no"]
            verbs: dict[str, Callable[[str, str], Order]] = {
                "pay": self.pay, "open": self.open, "expire": self.expire, "finish": self.finish,
            }  # fmt: skip
            return _json(_order_info(verbs[action](provider, number)))
        except Conflict as exc:
            return _json({"error": exc.code, "message": str(exc)}, 409)
        except (KeyError, ValueError, TypeError) as exc:
            return _json({"error": "BAD_REQUEST", "message": str(exc)[:200]}, 400)

    # -- payers ------------------------------------------------------------------------------

    def _new_order(self, order: Order, behaviour: str) -> None:
        match behaviour:
            case "pay_now":
                self.pay(order.provider, order.number)
            case "open":
                self.open(order.provider, order.number)
            case "pay":
                self._later(self.script.pay_delay, order, self.pay)
            case "late" if order.expires is not None:
                left = (order.expires - datetime.now(UTC)).total_seconds()
                self._later(max(0.0, left / self.time_scale - 1.0), order, self.pay)
            case _:  # abandon, manual: nothing happens until someone says so
                pass

    def _later(self, seconds: float, order: Order, act: Callable[[str, str], Order]) -> None:
        def run() -> None:
            with contextlib.suppress(Conflict):  # closed or expired: the payer was too late
                act(order.provider, order.number)

        timer = threading.Timer(seconds, run)
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def open(self, provider: str, number: str) -> Order:
        """The payer opens the checkout (the Alipay trade now exists, unpaid)."""
        return self.book.open(provider, number)

    def pay(self, provider: str, number: str) -> Order:
        """The payer pays; the news goes out (auto) or waits for :meth:`deliver`."""
        self.book.open(provider, number)
        order = self.book.pay(provider, number)
        if self.auto_notify:
            self.notifier.submit(self.notification(provider, number))
        return order

    def expire(self, provider: str, number: str) -> Order:
        """The order times out unpaid; an opened Alipay trade sends TRADE_CLOSED."""
        opened = self.book.get(provider, number)
        was_open = opened is not None and opened.status is OrderStatus.OPENED
        order = self.book.close(provider, number)
        if provider == "alipay" and was_open and self.auto_notify:
            self.notifier.submit(self.notification(provider, number))
        return order

    def finish(self, provider: str, number: str) -> Order:
        """Alipay's late TRADE_FINISHED (refund window over) for a paid trade."""
        order = self.book.get(provider, number)
        if order is None or order.status is not OrderStatus.PAID:
            raise Conflict("TRADE_STATUS_ERROR", "only a paid trade finishes")
        if self.auto_notify:
            trade = {**alipay_trade(order), "trade_status": "TRADE_FINISHED"}
            self.notifier.submit(self._alipay_note(order, trade))
        return order

    # -- news ---------------------------------------------------------------------------------

    def notification(self, provider: str, number: str) -> Notification:
        """The notification an order's current state makes (snapshot taken now)."""
        order = self.book.get(provider, number)
        if order is None or not order.notify_url:
            raise Conflict("ORDER_NOT_EXIST", "no such order, or it has no notify_url")
        if provider == "alipay":
            return self._alipay_note(order, alipay_trade(order))
        event = "TRANSACTION.SUCCESS" if order.status is OrderStatus.PAID else "TRANSACTION.CLOSED"
        body = wechat_notification(
            wechat_transaction(order, self.keys), event_type=event,
            original_type="transaction", keys=self.keys,
        )  # fmt: skip
        return self._wechat_note(order.number, order.notify_url, body)

    def _wechat_note(self, number: str, url: str, body: bytes) -> Notification:
        def render(_attempt: int, variant: str) -> tuple[bytes, dict[str, str]]:
            use_pub = self.key_mode == "public_key" or (
                self.key_mode == "both" and self._random.random() < 0.5
            )
            stamp = int(datetime.now(UTC).timestamp())
            return body, wechat_signed(
                body, self.keys, use_public_key=use_pub, timestamp=stamp, variant=variant
            )

        return Notification("wechatpay", number, url, render, _wechat_ok, WECHAT_SCHEDULE)

    def _alipay_note(self, order: Order, trade: dict[str, str]) -> Notification:
        notify_id = uuid.uuid4().hex
        url = order.notify_url or ""

        def render(_attempt: int, variant: str) -> tuple[bytes, dict[str, str]]:
            body = alipay_notify(
                order, self.keys, notify_id=notify_id, trade=trade, variant=variant
            )
            return body, {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}

        return Notification("alipay", order.number, url, render, _alipay_ok, ALIPAY_SCHEDULE)

    def _wechat_refunded(self, order: Order, refund_no: str, url: str) -> None:
        if not self.auto_notify:
            return
        entry = order.refunds[refund_no]
        body = wechat_notification(
            wechat_refund(order, entry, self.keys), event_type="REFUND.SUCCESS",
            original_type="refund", keys=self.keys,
        )  # fmt: skip
        self.notifier.submit(self._wechat_note(refund_no, url, body))

    def _alipay_refunded(self, order: Order, refund_no: str) -> None:
        if self.auto_notify and order.notify_url:
            trade = {**alipay_trade(order), "out_biz_no": refund_no}
            self.notifier.submit(self._alipay_note(order, trade))

    def deliver(self, provider: str, number: str, *, variant: str = "genuine") -> Attempt:
        """Deliver an order's current news once, synchronously (tests, the contract harness)."""
        return self.notifier.deliver(self.notification(provider, number), variant=variant)

    # -- truth ----------------------------------------------------------------------------------

    def charges(self, number: str) -> int:
        """How often money was taken for an order number (our payment id)."""
        return self.book.charges(number)

    def refunded_minor(self, number: str) -> int:
        """How much was given back for an order number."""
        return self.book.refunded_minor(number)


def _order_info(order: Order) -> dict[str, Any]:
    return {
        "provider": order.provider,
        "out_trade_no": order.number,
        "status": order.status.value,
        "amount_minor": order.amount_minor,
        "trade_no": order.trade_no,
        "charges": order.charges,
        "refunded_minor": order.refunded_minor,
    }


def _json(value: Any, status: int = 200) -> Response:
    return Response(status, dict(_JSON), json.dumps(value, ensure_ascii=False).encode())
