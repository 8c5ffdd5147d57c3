"""The WeChat Pay API v3 codec: ``ProviderCodec`` over calls, replies and callbacks."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, datetime

from pydantic import JsonValue

from paychannels.channels.base import Reply
from paychannels.providers import rsa
from paychannels.providers.base import (
    AskAgain,
    CloseResult,
    HttpCall,
    HttpReply,
    OrderState,
    OrderView,
    Reading,
)
from paychannels.providers.bills import BillLocation, ProviderBill
from paychannels.providers.wechatpay.bill import read_trade_bill
from paychannels.providers.wechatpay.calls import Calls, out_trade_no
from paychannels.providers.wechatpay.config import WechatPayConfig
from paychannels.providers.wechatpay.notify import CallbackReader
from paychannels.providers.wechatpay.replies import (
    Replies,
    error_outcome,
    refund_outcome,
    trade_view,
)
from paychannels.security.jsontext import strict_object
from paychannels.security.masking import scrub
from paychannels.security.verification import CallbackRejected, Headers
from paychannels.values.errors import ProtocolError
from paychannels.values.models import Outcome, Payment, Record, Refund, trusted

__all__ = ["WechatPayCodec"]

_FAIL_BODY = json.dumps({"code": "FAIL", "message": "失败"}, ensure_ascii=False).encode()
_SIGNATURES = re.compile(r'(signature="|paySign": "|"sign": ")[^"]+')


class WechatPayCodec:
    """WeChat Pay API v3 for one merchant (see ``paychannels.providers.base``)."""

    provider = "wechatpay"
    absent_until_buyer_acts = False
    bill_hosts: tuple[str, ...] = ()  # bills are fetched from the API host, signed

    def __init__(self, config: WechatPayConfig, *, now: Callable[[], float]) -> None:
        self.config = config
        self.calls = Calls(config, now=now)
        self.replies = Replies(config, now=now)
        self.callbacks = CallbackReader(config, now=now)

    def order_number(self, record_id: str) -> str:
        return out_trade_no(record_id)

    # -- orders -----------------------------------------------------------------------------

    def create_order(self, payment: Payment, expires_at: datetime) -> HttpCall | None:
        return self.calls.create(payment, expires_at)

    def created(
        self, payment: Payment, reply: HttpReply | None, expires_at: datetime
    ) -> Outcome | AskAgain:
        if reply is None:
            raise ProtocolError("WeChat Pay orders are always created by a call")
        if not 200 <= reply.status < 300:
            err = self.replies.error(reply, "create-order")
            outcome = error_outcome(err)
            return AskAgain(f"WECHATPAY:{err.code}") if outcome is None else outcome
        data = self.replies.json(reply, "create-order")
        info: dict[str, JsonValue] = {
            "provider": "wechatpay",
            "trade_type": self.config.trade_type,
            "out_trade_no": out_trade_no(payment.id),
            "expires_at": expires_at.isoformat(),
        }
        if self.config.trade_type == "native":
            code_url = data.get("code_url")
            if not isinstance(code_url, str) or not code_url:
                raise ProtocolError("WeChat Pay Native answer has no code_url")
            info["code_url"] = code_url
        else:
            prepay_id = data.get("prepay_id")
            if not isinstance(prepay_id, str) or not prepay_id:
                raise ProtocolError("WeChat Pay prepay answer has no prepay_id")
            info["prepay_id"] = prepay_id
            info["client"] = dict(self.calls.client_params(prepay_id))
        return Outcome.pending(data=info, message="waiting for the payer to pay in WeChat")

    def query_order(self, record: Record) -> HttpCall:
        return self.calls.query(record)

    def order_view(self, record: Record, reply: HttpReply) -> OrderView:
        if reply.status == 404:
            err = self.replies.error(reply, "order query")
            return OrderView(
                OrderState.ABSENT,
                Outcome.not_sent(f"WeChat Pay has no order {record.id} (WECHATPAY:{err.code})"),
            )
        if not 200 <= reply.status < 300:
            raise self.replies.error(reply, "order query")
        data = self.replies.json(reply, "order query")
        if data.get("out_trade_no") != out_trade_no(record.id):
            raise ProtocolError(f"WeChat Pay answered about another order than {record.id}")
        if data.get("mchid") != self.config.mchid or data.get("appid") != self.config.appid:
            raise ProtocolError("WeChat Pay answered for another merchant or app id")
        return trade_view(data, record.amount)

    def close_order(self, payment: Payment) -> HttpCall:
        return self.calls.close(payment)

    def closed(self, payment: Payment, reply: HttpReply) -> CloseResult:
        if 200 <= reply.status < 300:
            self.replies.verified(reply, "close")
            return CloseResult.CLOSED
        err = self.replies.error(reply, "close")
        if err.code in ("ORDER_CLOSED", "ORDERCLOSED"):
            return CloseResult.CLOSED
        if err.code == "ORDERPAID":
            return CloseResult.PAID
        if err.code in ("ORDER_NOT_EXIST", "ORDERNOTEXIST", "RESOURCE_NOT_EXISTS"):
            return CloseResult.ABSENT
        raise err

    # -- refunds ------------------------------------------------------------------------------

    def create_refund(self, refund: Refund, payment: Payment) -> HttpCall:
        return self.calls.refund(refund, payment)

    def refunded(self, refund: Refund, reply: HttpReply) -> Outcome:
        if not 200 <= reply.status < 300:
            err = self.replies.error(reply, "refund")
            outcome = error_outcome(err)
            if outcome is None:
                return Outcome.unknown(f"WeChat Pay answered WECHATPAY:{err.code} to a refund")
            return outcome
        return refund_outcome(self.replies.json(reply, "refund"))

    def query_refund(self, refund: Refund) -> HttpCall:
        return self.calls.refund_query(refund)

    def refund_view(self, refund: Refund, reply: HttpReply) -> Outcome:
        if reply.status == 404:
            err = self.replies.error(reply, "refund query")
            return Outcome.not_sent(f"WeChat Pay has no refund {refund.id} (WECHATPAY:{err.code})")
        if not 200 <= reply.status < 300:
            raise self.replies.error(reply, "refund query")
        return refund_outcome(self.replies.json(reply, "refund query"))

    # -- bills ------------------------------------------------------------------------------------

    def bill_request(self, day: date) -> HttpCall:
        return self.calls.bill(day)

    def bill_location(self, day: date, reply: HttpReply) -> BillLocation | None:
        if not 200 <= reply.status < 300:
            err = self.replies.error(reply, "trade bill")
            if err.code == "NO_STATEMENT_EXIST":
                return None  # no trade that day: an empty bill
            raise err
        data = self.replies.json(reply, "trade bill")
        url, kind, value = data.get("download_url"), data.get("hash_type"), data.get("hash_value")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ProtocolError("WeChat Pay trade bill answer has no download_url")
        if not isinstance(kind, str) or not isinstance(value, str):
            raise ProtocolError("WeChat Pay trade bill answer has no hash_type/hash_value")
        return BillLocation(url, kind, value, compressed=True)

    def bill_download(self, location: BillLocation, path: str | None) -> HttpCall:
        if path is None:
            raise ProtocolError(
                f"WeChat Pay bill URL {location.url[:80]!r} is not on the API host; refused"
            )
        return self.calls.download(path)

    def read_bill(self, day: date, location: BillLocation, body: bytes) -> ProviderBill:
        return read_trade_bill(body, day=day, location=location, mchid=self.config.mchid)

    # -- platform certificates ----------------------------------------------------------------

    def certificates_call(self) -> HttpCall:
        """The download of platform certificates (certificate mode key rotation)."""
        return self.calls.certificates()

    def load_certificates(self, reply: HttpReply) -> int:
        """Decrypt and hold downloaded certificates; returns how many were new.

        The AEAD layer (our APIv3 key) is what proves the certificates come from WeChat Pay;
        the answer's signature may be by a key we do not hold yet, the very reason to ask.
        """
        if reply.status != 200:
            raise self.replies.error(reply, "certificates")
        try:
            data = strict_object(reply.body, where="certificates answer")
            items = data.get("data")
            if not isinstance(items, list):
                raise ProtocolError("WeChat Pay certificates answer has no data list")
            added = 0
            for i, item in enumerate(items):
                if not isinstance(item, dict):
                    raise ProtocolError(f"certificates data[{i}] is not an object")
                pem = self.config.cipher.decrypt(
                    item.get("encrypt_certificate"), where=f"data[{i}].encrypt_certificate"
                )
                cert = rsa.load_certificate(pem, option=f"data[{i}]")
                added += self.config.keys.add_certificate(cert)
        except CallbackRejected as exc:
            raise ProtocolError(f"WeChat Pay certificates answer: {exc}") from None
        return added

    # -- callbacks ----------------------------------------------------------------------------

    def read_callback(self, headers: Headers, body: bytes) -> Reading:
        return self.callbacks.read(headers, body)

    def accept_reply(self) -> Reply:
        # every paid callback answers this: built without validation, a fresh one each time
        return trusted(Reply, {"status_code": 204, "headers": {}, "body": b""})

    def reject_reply(self, error: CallbackRejected | None) -> Reply:
        status = error.status if error is not None else 500
        return Reply(
            status_code=status,
            headers={"Content-Type": "application/json; charset=utf-8"},
            body=_FAIL_BODY,
        )

    def scrub(self, text: str) -> str:
        for secret in self.config.secret_texts:
            text = text.replace(secret, "[REDACTED]")
        return scrub(_SIGNATURES.sub(r"\1[REDACTED]", text))

    def describe(self) -> str:
        return f"WeChat Pay mchid {self.config.mchid} appid {self.config.appid}"
