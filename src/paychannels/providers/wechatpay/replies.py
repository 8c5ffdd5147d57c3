"""Reading WeChat Pay API v3 answers: verify, then map states and error codes to ours.

Every 2xx answer must carry a valid WeChat Pay signature (an unsigned success is treated as
forged: ``ProtocolError``, so the payment becomes UNKNOWN and is asked about again). Error
answers are read as ``{"code", "message"}``; their signature is checked when present.
Maps are exhaustive over the codes WeChat Pay documents; an unlisted code is kept verbatim
in ``reason_detail`` with ``Reason.UNMAPPED``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from paychannels.providers.base import HttpReply, OrderState, OrderView, ProviderError
from paychannels.providers.wechatpay.config import WechatPayConfig
from paychannels.providers.wechatpay.signing import verify_signed
from paychannels.security.jsontext import strict_object
from paychannels.security.verification import CallbackRejected
from paychannels.values.errors import ProtocolError
from paychannels.values.models import Outcome, trusted
from paychannels.values.money import Money
from paychannels.values.reasons import Reason
from paychannels.values.status import Status

__all__ = ["Replies", "paid_outcome", "refund_outcome", "trade_view", "transaction_amount"]

#: create-order refusals that are final, with our reason
_DECLINES: dict[str, Reason] = {
    "ORDER_CLOSED": Reason.ORDER_CLOSED,
    "ORDERCLOSED": Reason.ORDER_CLOSED,
    "RULE_LIMIT": Reason.LIMIT_EXCEEDED,
    "NO_AUTH": Reason.TRANSACTION_FORBIDDEN,
    "TRADE_ERROR": Reason.TRANSACTION_FORBIDDEN,
    "ACCOUNT_ERROR": Reason.ACCOUNT_BLOCKED,
    "APPID_MCHID_NOT_MATCH": Reason.MERCHANT_MISMATCH,
    "MCH_NOT_EXISTS": Reason.MERCHANT_MISMATCH,
    "PARAM_ERROR": Reason.OTHER,
    "INVALID_REQUEST": Reason.OTHER,
    "NOTENOUGH": Reason.INSUFFICIENT_FUNDS,
    "NOT_ENOUGH": Reason.INSUFFICIENT_FUNDS,
    "USER_ACCOUNT_ABNORMAL": Reason.ACCOUNT_BLOCKED,
    "RESOURCE_NOT_EXISTS": Reason.OTHER,
}
#: codes meaning the request was refused before anything happened: safe to send again
_NOT_PROCESSED = {"SIGN_ERROR", "FREQUENCY_LIMITED", "FREQUENCY_LIMIT_EXCEED"}
#: the order already exists (paid, or with these very parameters): ask for it
_ALREADY = {"ORDERPAID", "OUT_TRADE_NO_USED"}
#: what a paid order's outcome keeps of the transaction
_PAID_EXTRA = ("success_time", "bank_type", "trade_type")
#: the fields of a succeeded ``Outcome`` that do not depend on the transaction
_SUCCEEDED: dict[str, Any] = {
    "status": Status.SUCCEEDED,
    "reason": None,
    "reason_detail": None,
    "message": None,
    "receipt": (),
}


class Replies:
    """Verifies and reads answers for one merchant."""

    def __init__(self, config: WechatPayConfig, *, now: Callable[[], float]) -> None:
        self.config = config
        self._now = now

    def verified(self, reply: HttpReply, what: str) -> None:
        """Require WeChat Pay's signature on a success; check it on an error if present."""
        signed = reply.headers.optional("Wechatpay-Signature") is not None
        if not (200 <= reply.status < 300 or signed):
            return
        try:
            verify_signed(
                reply.headers,
                reply.body,
                self.config.keys,
                now=self._now,
                window=self.config.window,
            )
        except CallbackRejected as exc:
            raise ProtocolError(f"WeChat Pay {what} answer is not trustworthy: {exc}") from None

    def json(self, reply: HttpReply, what: str) -> dict[str, Any]:
        """A verified answer's JSON object; ``ProtocolError`` when unreadable."""
        self.verified(reply, what)
        try:
            return strict_object(reply.body, where=f"WeChat Pay {what} answer")
        except CallbackRejected as exc:
            raise ProtocolError(str(exc)) from None

    def error(self, reply: HttpReply, what: str) -> ProviderError:
        """The provider error an unsuccessful answer carries."""
        data = self.json(reply, what) if reply.body else {}
        code = data.get("code") if isinstance(data.get("code"), str) else f"HTTP_{reply.status}"
        message = data.get("message")
        text = message if isinstance(message, str) else ""
        return ProviderError(str(code), text[:200], status=reply.status)


def error_outcome(err: ProviderError) -> Outcome | None:
    """What a refusal of a create or refund call means; None when the order must be asked."""
    detail = f"WECHATPAY:{err.code} {err.text}".strip()
    if err.code in _ALREADY:
        return None
    if err.code in _NOT_PROCESSED or err.status == 429:
        return Outcome.not_sent(f"WeChat Pay refused before processing: {detail}")
    if err.status >= 500 or err.code in ("SYSTEM_ERROR", "BANKERROR"):
        return Outcome.unknown(f"WeChat Pay answered {err.status}: {detail}")
    reason = _DECLINES.get(err.code, Reason.UNMAPPED)
    return Outcome.declined(reason, detail)


def trade_view(data: dict[str, Any], expected: Money | None) -> OrderView:
    """A transaction object (query answer or decrypted callback) as an ``OrderView``.

    With ``expected`` (a query for a journaled payment) a different order amount is a
    ``ProtocolError``; callbacks pass None and let the Collector compare ``Notice.amount``.
    """
    state = data.get("trade_state")
    ref = _text(data, "transaction_id")
    if state == "SUCCESS" or state == "REFUND":  # every paid callback: no second validation
        amount = transaction_amount(data)
        if expected is not None and amount != expected:
            raise ProtocolError(f"WeChat Pay order is for {amount}, journal has {expected}")
        return OrderView(OrderState.PAID, paid_outcome(amount, ref, data))
    detail = f"WECHATPAY:{state} {_text(data, 'trade_state_desc') or ''}".strip()
    match state:
        case "NOTPAY" | "USERPAYING":
            return OrderView.unpaid(detail)
        case "CLOSED" | "REVOKED":
            return OrderView.closed(detail, ref)
        case "PAYERROR":
            return OrderView(
                OrderState.FAILED, Outcome.declined(Reason.OTHER, detail, channel_ref=ref)
            )
        case _:
            raise ProtocolError(f"WeChat Pay trade_state {str(state)[:40]!r} is not known")


def paid_outcome(amount: Money, ref: str | None, data: dict[str, Any]) -> Outcome:
    """``Outcome.succeeded`` from values checked here: the amount a ``Money``, the reference
    text or None, the extras parsed JSON — so pydantic's second pass over them is skipped."""
    extra = {}
    for name in _PAID_EXTRA:  # a plain loop: a comprehension is a function call of its own
        if name in data:
            extra[name] = data[name]
    values = _SUCCEEDED.copy()
    values["amount_taken"], values["channel_ref"], values["data"] = amount, ref, extra
    return trusted(Outcome, values)


def transaction_amount(data: dict[str, Any]) -> Money:
    """The order amount (``amount.total``, integer fen) of a transaction object."""
    amount = data.get("amount")
    if not isinstance(amount, dict):
        raise ProtocolError("WeChat Pay transaction has no amount object")
    total, currency = amount.get("total"), amount.get("currency", "CNY")
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        raise ProtocolError("WeChat Pay amount.total must be a whole number of fen")
    if not isinstance(currency, str):
        raise ProtocolError("WeChat Pay amount.currency must be a code")
    return Money.of_minor(total, currency)


def refund_outcome(data: dict[str, Any]) -> Outcome:
    """A refund object (refund answer, refund query, refund callback) as an ``Outcome``."""
    status = data.get("status") or data.get("refund_status")
    ref = _text(data, "refund_id")
    detail = f"WECHATPAY:{status}"
    match status:
        case "SUCCESS":
            amount = data.get("amount")
            refunded = amount.get("refund") if isinstance(amount, dict) else None
            currency = amount.get("currency", "CNY") if isinstance(amount, dict) else "CNY"
            if isinstance(refunded, bool) or not isinstance(refunded, int):
                raise ProtocolError("WeChat Pay refund has no amount.refund in fen")
            return Outcome.succeeded(
                amount_taken=Money.of_minor(refunded, str(currency)), channel_ref=ref
            )
        case "PROCESSING":
            return Outcome.pending(channel_ref=ref, message=detail)
        case "CLOSED":
            return Outcome.declined(Reason.ORDER_CLOSED, detail, channel_ref=ref)
        case "ABNORMAL":
            return Outcome.unknown(
                "WECHATPAY:ABNORMAL the payer's bank refused the refund; handle it in the "
                "merchant platform",
                channel_ref=ref,
            )
        case _:
            raise ProtocolError(f"WeChat Pay refund status {str(status)[:40]!r} is not known")


def _text(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    return value if isinstance(value, str) and value else None
