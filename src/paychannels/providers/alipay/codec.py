"""The Alipay codec: ``ProviderCodec`` over the open-platform gateway (RSA2)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime

from pydantic import JsonValue

from paychannels.channels.base import Reply
from paychannels.providers.alipay.bill import BILL_METHOD, read_trade_bill
from paychannels.providers.alipay.calls import Calls, out_trade_no
from paychannels.providers.alipay.config import AlipayConfig
from paychannels.providers.alipay.notify import NotifyReader
from paychannels.providers.alipay.replies import Answer, error_outcome, trade_view, yuan
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
from paychannels.security.masking import scrub
from paychannels.security.verification import CallbackRejected, Headers
from paychannels.values.errors import ProtocolError
from paychannels.values.models import Outcome, Payment, Record, Refund

__all__ = ["AlipayCodec"]

_TEXT = {"Content-Type": "text/plain; charset=utf-8"}
#: an Alipay payment code (16-24 digits starting 25-30) standing alone in a transcript line,
#: also inside a form-encoded biz_content (``%22`` is the quote before it)
_CODE = re.compile(r"(?:(?<=%22)|(?<![0-9]))(?:2[5-9]|30)[0-9]{14,22}(?![0-9])")


def _masked_code(match: re.Match[str]) -> str:
    digits = match.group(0)
    return digits[:2] + "*" * (len(digits) - 6) + digits[-4:]


class AlipayCodec:
    """Alipay for one application (see ``paychannels.providers.base``)."""

    provider = "alipay"
    absent_until_buyer_acts = True
    bill_hosts: tuple[str, ...] = (".alipay.com",)  # e.g. dwbillcenter.alipay.com

    def __init__(
        self, config: AlipayConfig, *, gateway_path: str, now: Callable[[], float]
    ) -> None:
        self.config = config
        self.calls = Calls(config, gateway_path, now=now)
        self.answers = Answer(config)
        self.notifications = NotifyReader(config)

    def order_number(self, record_id: str) -> str:
        return out_trade_no(record_id)

    # -- orders -----------------------------------------------------------------------------

    def create_order(self, payment: Payment, expires_at: datetime) -> HttpCall | None:
        if self.config.product == "app":
            return None
        return self.calls.create(payment, expires_at)

    def created(
        self, payment: Payment, reply: HttpReply | None, expires_at: datetime
    ) -> Outcome | AskAgain:
        info: dict[str, JsonValue] = {
            "provider": "alipay",
            "product": self.config.product,
            "out_trade_no": out_trade_no(payment.id),
            "expires_at": expires_at.isoformat(),
        }
        if reply is None:
            info["order_string"] = self.calls.app_order_string(payment, expires_at)
            return Outcome.pending(data=info, message="order string ready for the Alipay app")
        data = self.answers.open(reply, "alipay.trade.precreate")
        if data["code"] != "10000":
            outcome = error_outcome(data)
            return AskAgain(f"ALIPAY:{data.get('sub_code')}") if outcome is None else outcome
        qr_code = data.get("qr_code")
        if not isinstance(qr_code, str) or not qr_code:
            raise ProtocolError("Alipay precreate answer has no qr_code")
        info["qr_code"] = qr_code
        return Outcome.pending(data=info, message="waiting for the payer to scan and pay")

    def query_order(self, record: Record) -> HttpCall:
        return self.calls.query(record)

    def order_view(self, record: Record, reply: HttpReply) -> OrderView:
        data = self.answers.open(reply, "alipay.trade.query")
        if data["code"] != "10000":
            if data.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
                return OrderView(
                    OrderState.ABSENT,
                    Outcome.not_sent(f"Alipay has no trade {record.id} (ACQ.TRADE_NOT_EXIST)"),
                )
            raise self.answers.error(data)
        if data.get("out_trade_no") != out_trade_no(record.id):
            raise ProtocolError(f"Alipay answered about another trade than {record.id}")
        return trade_view(data, record.amount)

    def close_order(self, payment: Payment) -> HttpCall:
        return self.calls.close(payment)

    def closed(self, payment: Payment, reply: HttpReply) -> CloseResult:
        data = self.answers.open(reply, "alipay.trade.close")
        if data["code"] == "10000":
            return CloseResult.CLOSED
        match data.get("sub_code"):
            case "ACQ.TRADE_NOT_EXIST":
                return CloseResult.ABSENT
            case "ACQ.TRADE_STATUS_ERROR" | "ACQ.TRADE_HAS_SUCCESS" | "ACQ.TRADE_HAS_FINISHED":
                return CloseResult.ASK
            case _:
                raise self.answers.error(data)

    # -- refunds ------------------------------------------------------------------------------

    def create_refund(self, refund: Refund, payment: Payment) -> HttpCall:
        return self.calls.refund(refund, payment)

    def refunded(self, refund: Refund, reply: HttpReply) -> Outcome:
        data = self.answers.open(reply, "alipay.trade.refund")
        if data["code"] != "10000":
            outcome = error_outcome(data)
            return outcome or Outcome.unknown(f"Alipay answered {data.get('sub_code')} to a refund")
        if data.get("fund_change") == "Y":
            return Outcome.succeeded(message="ALIPAY:fund_change=Y")
        return Outcome.pending(message="ALIPAY:fund_change=N; the refund query will tell")

    def query_refund(self, refund: Refund) -> HttpCall:
        return self.calls.refund_query(refund)

    def refund_view(self, refund: Refund, reply: HttpReply) -> Outcome:
        data = self.answers.open(reply, "alipay.trade.fastpay.refund.query")
        if data["code"] != "10000":
            raise self.answers.error(data)
        if data.get("out_request_no") != out_trade_no(refund.id):
            return Outcome.not_sent(f"Alipay has no refund {refund.id}")
        status = data.get("refund_status")
        if status not in (None, "", "REFUND_SUCCESS"):
            return Outcome.pending(message=f"ALIPAY:{status}")
        amount = yuan(data.get("refund_amount"), where="refund_amount")
        if amount != refund.amount:
            raise ProtocolError(f"Alipay refunded {amount}, journal asked {refund.amount}")
        return Outcome.succeeded(amount_taken=amount)

    # -- bills ------------------------------------------------------------------------------------

    def bill_request(self, day: date) -> HttpCall:
        return self.calls.bill(day)

    def bill_location(self, day: date, reply: HttpReply) -> BillLocation | None:
        data = self.answers.open(reply, BILL_METHOD)
        if data["code"] != "10000":
            if data.get("sub_code") in ("isp.bill_not_exist", "isv.bill_not_exist"):
                return None  # no trade that day: an empty bill
            raise self.answers.error(data)
        url = data.get("bill_download_url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ProtocolError("Alipay bill answer has no bill_download_url")
        return BillLocation(url)

    def bill_download(self, location: BillLocation, path: str | None) -> HttpCall:
        return HttpCall("GET", path or location.url, action="bill_download")

    def read_bill(self, day: date, location: BillLocation, body: bytes) -> ProviderBill:
        return read_trade_bill(body, day=day, seller_id=self.config.seller_id)

    # -- callbacks ----------------------------------------------------------------------------

    def read_callback(self, headers: Headers, body: bytes) -> Reading:
        return self.notifications.read(body)

    def accept_reply(self) -> Reply:
        return Reply(status_code=200, headers=dict(_TEXT), body=b"success")

    def reject_reply(self, error: CallbackRejected | None) -> Reply:
        status = error.status if error is not None else 500
        return Reply(status_code=status, headers=dict(_TEXT), body=b"fail")

    def scrub(self, text: str) -> str:
        return scrub(_CODE.sub(_masked_code, text))

    def describe(self) -> str:
        return f"Alipay app_id {self.config.app_id} ({self.config.product})"
