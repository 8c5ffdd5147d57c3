"""WeChat Pay callbacks: verify the raw body, decrypt the resource, and say what it means.

Payment callbacks (``TRANSACTION.*``) become notices for the payment whose id is the
``out_trade_no``; refund callbacks (``REFUND.*``) for the refund whose id is the
``out_refund_no``. The merchant and app ids are compared with ours (a mismatch becomes
``Notice.problem``: attention, nothing credited) and the order amount travels in
``Notice.amount`` for the Collector to compare with the journal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import JsonValue

from paychannels.channels.base import Notice
from paychannels.providers.base import Reading
from paychannels.providers.wechatpay.calls import is_trade_no, out_refund_no
from paychannels.providers.wechatpay.config import WechatPayConfig
from paychannels.providers.wechatpay.replies import (
    paid_outcome,
    refund_outcome,
    trade_view,
    transaction_amount,
)
from paychannels.providers.wechatpay.signing import verify_signed
from paychannels.security.jsontext import plain_object, strict_object
from paychannels.security.verification import CallbackRejected, Headers, MalformedCallback
from paychannels.values.errors import InvalidRequest, MoneyError, ProtocolError
from paychannels.values.models import trusted
from paychannels.values.money import Money

__all__ = ["CallbackReader"]


class CallbackReader:
    """Reads callbacks for one merchant."""

    def __init__(self, config: WechatPayConfig, *, now: Callable[[], float]) -> None:
        self.config = config
        self._now = now

    def read(self, headers: Headers, body: bytes) -> Reading:
        """Verified notices, or the refusal (with unverified hints if readable)."""
        try:
            verify_signed(headers, body, self.config.keys, now=self._now, window=self.config.window)
        except CallbackRejected as exc:
            return Reading(self._hints(body) if exc.worth_asking else [], exc)
        try:
            return Reading([self.notice(body, verified=True)])
        except CallbackRejected as exc:
            return Reading([], exc)

    def _hints(self, body: bytes) -> list[Notice]:
        """Unverified notices from a body that may be genuine news (``worth_asking``)."""
        try:
            return [self.notice(body, verified=False)]
        except CallbackRejected:
            return []

    def open(self, body: bytes, *, verified: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
        """The event envelope and its decrypted resource.

        A body whose signature held is WeChat Pay's own bytes: no crafted duplicate keys can
        be in it, so the plain C parser reads it (as the AES-authenticated resource); an
        unverified one (a hint) is parsed strictly, repeated keys refused."""
        event = (plain_object if verified else strict_object)(body, where="body")
        if event.get("resource_type") != "encrypt-resource":
            raise MalformedCallback("must be encrypt-resource", where="body.resource_type")
        resource = self.config.cipher.decrypt_json(event.get("resource"), where="body.resource")
        return event, resource

    def notice(self, body: bytes, *, verified: bool) -> Notice:
        """The notice one callback body carries."""
        event, data = self.open(body, verified=verified)
        event_type = event.get("event_type")
        if type(event_type) is not str:
            raise MalformedCallback("is missing", where="body.event_type")
        event_id = event.get("id")
        info: dict[str, JsonValue] = (
            {"event_type": event_type, "event_id": event_id}
            if type(event_id) is str
            else {"event_type": event_type}
        )
        try:
            if event_type[:12] == "TRANSACTION.":
                return self._transaction(data, verified, event_type, info)
            if event_type[:7] == "REFUND.":
                return self._refund(data, verified, f"wechatpay callback {event_type}", info)
        except (ProtocolError, MoneyError, InvalidRequest) as exc:
            raise MalformedCallback(str(exc)[:200], where="body.resource") from None
        raise MalformedCallback(
            f"{event_type[:40]!r} is not a payment event", where="body.event_type"
        )

    def _problem(self, data: dict[str, Any], *, appid: bool) -> str | None:
        cfg = self.config
        mchid = data.get("mchid") or data.get("sp_mchid")
        if mchid != cfg.mchid:
            return f"merchant id {str(mchid)[:32]!r} is not ours ({cfg.mchid})"
        if appid and data.get("appid") != cfg.appid:
            return f"app id {str(data.get('appid'))[:32]!r} is not ours ({cfg.appid})"
        return None

    def _transaction(
        self, data: dict[str, Any], verified: bool, event_type: str, info: dict[str, JsonValue]
    ) -> Notice:
        number = data.get("out_trade_no")
        if type(number) is not str or not number:
            raise MalformedCallback("is missing", where="body.resource.out_trade_no")
        ref = data.get("transaction_id")
        if ref is not None and type(ref) is not str:
            raise MalformedCallback("is not text", where="body.resource.transaction_id")
        amount: Money | None
        if data.get("trade_state") == "SUCCESS":  # every paid callback: one pass, no OrderView
            amount = paid = transaction_amount(data)
            outcome = paid_outcome(paid, ref or None, data)
        else:
            outcome = trade_view(data, None).outcome
            amount = outcome.amount_taken
            if amount is None and "amount" in data:
                amount = transaction_amount(data)
        info["out_trade_no"] = number
        cfg = self.config
        # every value is checked above (text, Money, an Outcome): built without a second pass
        return trusted(
            Notice,
            {
                "payment_id": number if is_trade_no(number) else None,
                "attempt": None,
                "channel_ref": ref or None,
                "outcome": outcome,
                "verified": verified,
                "amount": amount,
                "problem": (
                    None
                    if data.get("mchid") == cfg.mchid and data.get("appid") == cfg.appid
                    else self._problem(data, appid=True)
                ),
                "source": f"wechatpay callback {event_type}",
                "data": info,
            },
        )

    def _refund(
        self, data: dict[str, Any], verified: bool, source: str, info: dict[str, JsonValue]
    ) -> Notice:
        number = _field(data, "out_refund_no")
        amount = data.get("amount")
        refunded = amount.get("refund") if isinstance(amount, dict) else None
        currency = amount.get("currency", "CNY") if isinstance(amount, dict) else "CNY"
        if isinstance(refunded, bool) or not isinstance(refunded, int):
            raise ProtocolError("refund callback has no amount.refund in fen")
        return Notice(
            payment_id=_ours(number, out_refund_no),
            channel_ref=data.get("refund_id") or None,
            outcome=refund_outcome(data),
            verified=verified,
            amount=Money.of_minor(refunded, str(currency)),
            problem=self._problem(data, appid=False),
            source=source,
            data={**info, "out_refund_no": number},
        )


def _field(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise MalformedCallback("is missing", where=f"body.resource.{name}")
    return value


def _ours(number: str, check: Callable[[str], str]) -> str | None:
    """Our record id for a provider order number, or None when it cannot be one of ours."""
    try:
        return check(number)
    except InvalidRequest:
        return None
