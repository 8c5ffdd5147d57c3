"""Alipay asynchronous notifications: strict form, RSA2 check, then what the trade says.

What we would refuse anyway is refused before any RSA work (a forged flood costs parsing
only): the strict form, then the order number, the trade status and ``total_amount`` (exact
yuan), then the signature's presence, type and shape. Verification follows Alipay's rule
exactly: drop ``sign`` and ``sign_type``, sort, join the decoded values, SHA256withRSA with
Alipay's public key. Only a verified notification's ``app_id`` and ``seller_id`` are compared
with ours (mismatch: ``Notice.problem``). ``notify_id`` is constant across resends of one
notification; Alipay signs no timestamp, so there is no window to check.
"""

from __future__ import annotations

from pydantic import JsonValue

from paychannels.channels.base import Notice
from paychannels.providers.alipay import signing
from paychannels.providers.alipay.calls import out_trade_no
from paychannels.providers.alipay.config import AlipayConfig
from paychannels.providers.alipay.forms import decode_form
from paychannels.providers.alipay.replies import trade_view, yuan
from paychannels.providers.base import Reading
from paychannels.security.verification import CallbackRejected, MalformedCallback, VerificationError
from paychannels.values.errors import InvalidRequest, ProtocolError

__all__ = ["NotifyReader"]


class NotifyReader:
    """Reads notifications for one application."""

    def __init__(self, config: AlipayConfig) -> None:
        self.config = config

    def read(self, body: bytes) -> Reading:
        """Verified notices, or the refusal (with unverified hints when readable)."""
        try:
            fields = decode_form(body)
        except CallbackRejected as exc:
            return Reading([], exc)
        try:
            _required(fields)  # what we would refuse anyway, before any RSA work
            self.verify(fields)
        except CallbackRejected as exc:
            return Reading(self._hints(fields) if exc.worth_asking else [], exc)
        try:
            return Reading([self.notice(fields, verified=True)])
        except CallbackRejected as exc:
            return Reading([], exc)

    def verify(self, fields: dict[str, str]) -> None:
        """Check ``sign`` over the notification; ``CallbackRejected`` naming what failed."""
        signature = fields.get("sign")
        if not signature:
            raise MalformedCallback("is missing", where="field sign")
        sign_type = fields.get("sign_type")
        if sign_type != "RSA2":
            raise VerificationError(f"{str(sign_type)[:10]!r} is not RSA2", where="field sign_type")
        signing.verify(
            self.config.alipay_public_key,
            signing.notify_content(fields),
            signature,
            where="field sign",
            charset=fields.get("charset", "utf-8"),
        )

    def _hints(self, fields: dict[str, str]) -> list[Notice]:
        try:
            return [self.notice(fields, verified=False)]
        except CallbackRejected:
            return []

    def notice(self, fields: dict[str, str], *, verified: bool) -> Notice:
        """The notice a (verified or not) notification carries."""
        number = _required(fields)
        try:
            view = trade_view(fields, None)
            amount = yuan(fields.get("total_amount"), where="field total_amount")
        except ProtocolError as exc:
            raise MalformedCallback(str(exc)[:200]) from None
        info: dict[str, JsonValue] = {
            "out_trade_no": number,
            "trade_status": fields["trade_status"],
        }
        if fields.get("notify_id"):
            info["notify_id"] = fields["notify_id"]
        try:
            payment_id: str | None = out_trade_no(number)
        except InvalidRequest:
            payment_id = None
        try:
            return Notice(
                payment_id=payment_id,
                channel_ref=fields.get("trade_no") or None,
                outcome=view.outcome,
                verified=verified,
                amount=amount,
                problem=self._problem(fields),
                source=f"alipay notify {fields['trade_status']}",
                data=info,
            )
        except InvalidRequest as exc:
            raise MalformedCallback(str(exc)[:200]) from None

    def _problem(self, fields: dict[str, str]) -> str | None:
        cfg = self.config
        if fields.get("app_id") != cfg.app_id:
            return f"app id {fields.get('app_id', '')[:32]!r} is not ours ({cfg.app_id})"
        seller = fields.get("seller_id")
        if cfg.seller_id is not None and seller != cfg.seller_id:
            return f"seller id {str(seller)[:32]!r} is not ours ({cfg.seller_id})"
        return None


def _required(fields: dict[str, str]) -> str:
    """The order number, once the fields a notice cannot do without are there and in shape."""
    number = fields.get("out_trade_no")
    if not number:
        raise MalformedCallback("is missing", where="field out_trade_no")
    if "trade_status" not in fields:
        raise MalformedCallback("is missing", where="field trade_status")
    try:
        yuan(fields.get("total_amount"), where="field total_amount")
    except ProtocolError as exc:
        raise MalformedCallback(str(exc)[:200]) from None
    return number
