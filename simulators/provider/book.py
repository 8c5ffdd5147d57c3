"""The simulated provider's ledger: orders, their states, refunds, and money actually taken.

One book serves both providers (orders are keyed by provider and order number). Creating
an order twice with the same parameters returns the same order, with different ones it is a
conflict, as at the real providers. ``charges(number)`` counts money taken: a test that sees
2 has caught a payment taken twice; ``queries`` counts order queries per order number (what a
flood of callbacks costs the provider).
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

__all__ = ["Book", "Conflict", "Order", "OrderStatus", "RefundEntry"]


class OrderStatus(StrEnum):
    """Where a simulated order stands."""

    UNPAID = "unpaid"  # created; for Alipay precreate: not opened by the payer yet
    OPENED = "opened"  # the payer opened the checkout (Alipay: the trade now exists)
    PAID = "paid"
    CLOSED = "closed"  # closed unpaid (by the merchant or by expiry)


class Conflict(Exception):
    """An order number reused with other parameters, or an action not allowed now."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class RefundEntry:
    """One refund of an order."""

    number: str
    amount_minor: int
    refund_id: str
    created: datetime
    done: bool = True


@dataclass
class Order:
    """One order at the simulated provider."""

    provider: str
    number: str
    amount_minor: int
    description: str
    notify_url: str | None
    expires: datetime | None
    params: str  # what identifies "the same order" when created again
    attach: str = ""
    trade_type: str = ""
    status: OrderStatus = OrderStatus.UNPAID
    trade_no: str = ""
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    paid_at: datetime | None = None
    refunds: dict[str, RefundEntry] = field(default_factory=dict)
    charges: int = 0

    @property
    def refunded_minor(self) -> int:
        """Money given back so far."""
        return sum(r.amount_minor for r in self.refunds.values() if r.done)


def _trade_no(provider: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    digits = "".join(secrets.choice("0123456789") for _ in range(16))
    return ("4200" if provider == "wechatpay" else "") + stamp + digits


class Book:
    """Thread-safe orders of both providers."""

    def __init__(self) -> None:
        self._orders: dict[tuple[str, str], Order] = {}
        self._lock = threading.RLock()
        #: order queries received, by order number (both providers)
        self.queries: Counter[str] = Counter()
        #: called with ("pay" | "refund", order) right after money moved: the adversarial
        #: tests kill the merchant's process at the moment the provider wrote its truth
        self.watchers: list[Callable[[str, Order], None]] = []

    @property
    def lock(self) -> threading.RLock:
        """Held while a handler reads and changes an order."""
        return self._lock

    def create(self, order: Order) -> tuple[Order, bool]:
        """Store a new order, or return the existing same one (False); ``Conflict`` if changed."""
        with self._lock:
            key = (order.provider, order.number)
            old = self._orders.get(key)
            if old is not None:
                if old.params != order.params:
                    raise Conflict("OUT_TRADE_NO_USED", "order number reused with other data")
                return old, False
            order.trade_no = _trade_no(order.provider)
            self._orders[key] = order
            return order, True

    def get(self, provider: str, number: str) -> Order | None:
        """An order by its merchant order number."""
        with self._lock:
            return self._orders.get((provider, number))

    def queried(self, number: str) -> None:
        """Count one order query about ``number`` (whether or not the order exists)."""
        with self._lock:
            self.queries[number] += 1

    def by_trade_no(self, provider: str, trade_no: str) -> Order | None:
        """An order by the provider's own transaction number."""
        with self._lock:
            for order in self._orders.values():
                if order.provider == provider and order.trade_no == trade_no:
                    return order
        return None

    def open(self, provider: str, number: str) -> Order:
        """The payer opens the checkout (scans the QR code)."""
        with self._lock:
            order = self._need(provider, number)
            if order.status is OrderStatus.UNPAID:
                order.status = OrderStatus.OPENED
            return order

    def pay(self, provider: str, number: str, *, now: datetime | None = None) -> Order:
        """The payer pays: money taken once; refused when closed or expired."""
        when = now or datetime.now(UTC)
        with self._lock:
            order = self._need(provider, number)
            if order.status is OrderStatus.PAID:
                return order
            if order.status is OrderStatus.CLOSED:
                raise Conflict("ORDER_CLOSED", "the order is closed")
            if order.expires is not None and when > order.expires:
                order.status = OrderStatus.CLOSED
                raise Conflict("ORDER_CLOSED", "the order expired before the payer paid")
            order.status = OrderStatus.PAID
            order.paid_at = when
            order.charges += 1
            self._wrote("pay", order)
            return order

    def close(self, provider: str, number: str) -> Order:
        """Close an unpaid order; ``Conflict('ORDERPAID')`` when it was paid."""
        with self._lock:
            order = self._need(provider, number)
            if order.status is OrderStatus.PAID:
                raise Conflict("ORDERPAID", "the order is paid")
            order.status = OrderStatus.CLOSED
            return order

    def refund(self, provider: str, number: str, refund_no: str, amount_minor: int) -> RefundEntry:
        """Give money back (idempotent per refund number)."""
        with self._lock:
            order = self._need(provider, number)
            existing = order.refunds.get(refund_no)
            if existing is not None:
                if existing.amount_minor != amount_minor:
                    raise Conflict("INVALID_REQUEST", "refund number reused with another amount")
                return existing
            if order.status is not OrderStatus.PAID:
                raise Conflict("TRADE_STATUS_ERROR", "only a paid order can be refunded")
            if amount_minor <= 0 or order.refunded_minor + amount_minor > order.amount_minor:
                raise Conflict("INVALID_REQUEST", "refund exceeds what is left of the order")
            entry = RefundEntry(
                refund_no, amount_minor, "50" + _trade_no(provider)[-24:], datetime.now(UTC)
            )
            order.refunds[refund_no] = entry
            self._wrote("refund", order)
            return entry

    def find_refund(self, provider: str, refund_no: str) -> tuple[Order, RefundEntry] | None:
        """The order and refund for a refund number."""
        with self._lock:
            for order in self._orders.values():
                if order.provider == provider and refund_no in order.refunds:
                    return order, order.refunds[refund_no]
        return None

    def orders(self, provider: str | None = None) -> list[Order]:
        """Every order (of one provider)."""
        with self._lock:
            return [o for o in self._orders.values() if provider in (None, o.provider)]

    def charges(self, number: str) -> int:
        """How often money was taken for an order number (or attach value), any provider."""
        with self._lock:
            return sum(o.charges for o in self._orders.values() if number in (o.number, o.attach))

    def refunded_minor(self, number: str) -> int:
        """How much was given back for an order number, any provider."""
        with self._lock:
            return sum(o.refunded_minor for o in self._orders.values() if o.number == number)

    def _wrote(self, what: str, order: Order) -> None:
        for watcher in list(self.watchers):
            watcher(what, order)

    def _need(self, provider: str, number: str) -> Order:
        order = self._orders.get((provider, number))
        if order is None:
            raise Conflict("ORDER_NOT_EXIST", "no such order")
        return order
