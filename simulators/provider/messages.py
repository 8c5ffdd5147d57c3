"""What the simulated providers say about an order: query answers and notifications.

The same transaction object answers a WeChat Pay query and, encrypted, fills a callback;
the same trade fields answer an Alipay query and, signed, make an async notification.
Signing is the providers' real one, with the simulator's own keys; ``forge`` and ``probe``
variants produce the wrong signatures a receiver must refuse.
"""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from paychannels.providers import rsa
from paychannels.providers.alipay import signing as alipay_signing
from paychannels.providers.alipay.forms import encode_form
from paychannels.providers.wechatpay.resource import ResourceCipher
from paychannels.providers.wechatpay.signing import PROBE_PREFIX, sign_headers
from paychannels.runtime.clock import BEIJING
from paychannels.simulators.provider.book import Order, OrderStatus, RefundEntry
from paychannels.simulators.provider.keys import SimKeys

__all__ = [
    "alipay_notify",
    "alipay_trade",
    "compact",
    "wechat_notification",
    "wechat_paid",
    "wechat_refund",
    "wechat_transaction",
    "yuan",
]

_STATES = {
    OrderStatus.UNPAID: "NOTPAY",
    OrderStatus.OPENED: "NOTPAY",
    OrderStatus.CLOSED: "CLOSED",
}


def compact(value: Any) -> bytes:
    """JSON as the providers send it: compact UTF-8."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def rfc3339(moment: datetime) -> str:
    """Beijing-time RFC 3339 as WeChat Pay writes times."""
    return moment.astimezone(BEIJING).replace(microsecond=0).isoformat()


def beijing(moment: datetime) -> str:
    """``yyyy-MM-dd HH:mm:ss`` Beijing time as Alipay writes times."""
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def yuan(minor: int) -> str:
    """Fen as a yuan string with two decimals."""
    return f"{minor // 100}.{minor % 100:02d}"


# -- WeChat Pay ------------------------------------------------------------------------------


def wechat_transaction(order: Order, keys: SimKeys) -> dict[str, Any]:
    """The transaction object of an order (query answer and callback resource)."""
    paid = order.status is OrderStatus.PAID
    state = ("REFUND" if order.refunded_minor else "SUCCESS") if paid else _STATES[order.status]
    data: dict[str, Any] = {
        "appid": keys.appid,
        "mchid": keys.mchid,
        "out_trade_no": order.number,
        "trade_type": order.trade_type.upper() or "NATIVE",
        "trade_state": state,
        "trade_state_desc": {"SUCCESS": "支付成功", "REFUND": "转入退款", "NOTPAY": "未支付"}.get(
            state, "订单已关闭"
        ),
        "attach": order.attach,
        "amount": {"total": order.amount_minor, "currency": "CNY"},
    }
    if paid and order.paid_at is not None:
        wechat_paid(data, order.trade_no, order.paid_at, order.amount_minor)
    return data


def wechat_paid(data: dict[str, Any], trade_no: str, paid_at: datetime, amount_minor: int) -> None:
    """Add what a paid transaction object carries (an order's or a payment code's): the
    transaction id, when, the payer and what the payer paid."""
    data.update(
        transaction_id=trade_no,
        bank_type="OTHERS",
        success_time=rfc3339(paid_at),
        payer={"openid": "o" + trade_no[-27:]},
    )
    data["amount"].update(payer_total=amount_minor, payer_currency="CNY")


def wechat_refund(order: Order, entry: RefundEntry, keys: SimKeys) -> dict[str, Any]:
    """The refund object (refund answer, refund query, refund callback resource)."""
    return {
        "mchid": keys.mchid,
        "refund_id": entry.refund_id,
        "out_refund_no": entry.number,
        "transaction_id": order.trade_no,
        "out_trade_no": order.number,
        "channel": "ORIGINAL",
        "user_received_account": "支付用户零钱",
        "create_time": rfc3339(entry.created),
        "status": "SUCCESS" if entry.done else "PROCESSING",
        "refund_status": "SUCCESS" if entry.done else "PROCESSING",
        "amount": {
            "total": order.amount_minor,
            "refund": entry.amount_minor,
            "payer_total": order.amount_minor,
            "payer_refund": entry.amount_minor,
            "currency": "CNY",
        },
    }


def wechat_notification(
    resource: dict[str, Any], *, event_type: str, original_type: str, keys: SimKeys
) -> bytes:
    """A callback body with the resource encrypted under the APIv3 key."""
    cipher = ResourceCipher(keys.apiv3_key)
    aad = original_type
    encrypted = cipher.encrypt(compact(resource), associated_data=aad, original_type=original_type)
    summary = "支付成功" if event_type.startswith("TRANSACTION") else "退款成功"
    return compact(
        {
            "id": str(uuid.uuid4()),
            "create_time": rfc3339(datetime.now(UTC)),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": summary,
            "resource": encrypted,
        }
    )


def wechat_signed(
    body: bytes, keys: SimKeys, *, use_public_key: bool, timestamp: int, variant: str = "genuine"
) -> dict[str, str]:
    """Headers for a callback: genuine, ``forged`` (another key), ``probe`` or ``stale``."""
    key, serial = (
        (keys.pubkey_key, keys.pubkey_id)
        if use_public_key
        else (keys.platform_key, keys.platform_serial)
    )
    if variant == "forged":
        key = keys.merchant_key  # a key WeChat Pay never signs with
    if variant == "stale":
        timestamp -= 3600
    headers = sign_headers(key, serial, body, timestamp=timestamp)
    if variant == "probe":
        headers["Wechatpay-Signature"] = PROBE_PREFIX + secrets.token_urlsafe(48)
    headers["Request-ID"] = str(uuid.uuid4())
    headers["Content-Type"] = "application/json"
    return headers


# -- Alipay -------------------------------------------------------------------------------


def alipay_trade(order: Order) -> dict[str, str]:
    """The trade fields Alipay reports for an order (query answer and notification)."""
    if order.status is OrderStatus.PAID:
        full = order.refunded_minor == order.amount_minor
        status = "TRADE_CLOSED" if full else "TRADE_SUCCESS"
    elif order.status is OrderStatus.CLOSED:
        status = "TRADE_CLOSED"
    else:
        status = "WAIT_BUYER_PAY"
    fields = {
        "trade_no": order.trade_no,
        "out_trade_no": order.number,
        "trade_status": status,
        "total_amount": yuan(order.amount_minor),
    }
    if order.status is OrderStatus.PAID and order.paid_at is not None:
        fields.update(
            receipt_amount=yuan(order.amount_minor),
            buyer_pay_amount=yuan(order.amount_minor),
            gmt_payment=beijing(order.paid_at),
            buyer_id="2088" + order.trade_no[-12:],
        )
    if order.refunded_minor:
        fields["refund_fee"] = yuan(order.refunded_minor)
    return fields


def alipay_notify(
    order: Order,
    keys: SimKeys,
    *,
    notify_id: str,
    trade: dict[str, str] | None = None,
    variant: str = "genuine",
    charset: str = "utf-8",
) -> bytes:
    """A signed notification form body (``trade``: the fields as they were when it was news).

    ``forged`` signs with a key Alipay never uses; ``probe`` carries a signature of garbage.
    """
    fields = {
        "notify_time": beijing(datetime.now(UTC)),
        "notify_type": "trade_status_sync",
        "notify_id": notify_id,
        "app_id": keys.alipay_app_id,
        "charset": charset,
        "version": "1.0",
        "seller_id": keys.alipay_seller_id,
        "subject": order.description,
        **(trade if trade is not None else alipay_trade(order)),
    }
    key: rsa.PrivateKey = keys.app_key if variant == "forged" else keys.alipay_key
    fields["sign"] = alipay_signing.sign(key, alipay_signing.notify_content(fields), charset)
    if variant == "probe":
        fields["sign"] = secrets.token_urlsafe(64)
    fields["sign_type"] = "RSA2"
    return encode_form(fields, charset=charset)
