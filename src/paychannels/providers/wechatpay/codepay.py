"""WeChat Pay API v3 付款码支付 (codepay): pay with a scanned code, query, reverse (撤销).

Direct merchants call ``/v3/pay/transactions/codepay``; a service provider's sub-merchant
(``sub_mchid``) calls ``/v3/pay/partner/transactions/codepay`` with ``sp_mchid``/``sp_appid``.
The code travels in ``payer.auth_code`` of that one request and nowhere else: ``scrub``
masks it in transcripts (first 2 and last 4 digits, as ``PaymentCode.masked``).

What answers mean follows WeChat Pay's published rules (docs/channels/paycode.md cites them):
``USERPAYING`` — the payer is entering the password: query until paid or the wait is over,
then reverse; ``SYSTEM_ERROR``/``BANKERROR``/5xx or no answer — unknown: query, never pay
again; the codes below in ``_REFUSED`` — certainly not paid.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from paychannels.links.http import HttpCall, HttpReply
from paychannels.providers.base import ProviderError
from paychannels.providers.codepay import CodeState, CodeView, ReverseResult
from paychannels.providers.wechatpay.calls import Calls, out_trade_no
from paychannels.providers.wechatpay.config import WechatPayConfig
from paychannels.providers.wechatpay.replies import Replies, transaction_amount
from paychannels.security.masking import scrub
from paychannels.values.errors import ProtocolError
from paychannels.values.models import Outcome, Payment, Record
from paychannels.values.paymentcode import PaymentCode, Provider
from paychannels.values.reasons import Reason
from paychannels.values.status import Status

__all__ = ["WechatCodePay"]

#: error codes of a pay call that mean "certainly not paid", with the reason the payer reads
_REFUSED: dict[str, Reason] = {
    "NOTENOUGH": Reason.INSUFFICIENT_FUNDS,  # 余额不足
    "NOT_ENOUGH": Reason.INSUFFICIENT_FUNDS,
    "AUTHCODEEXPIRE": Reason.CODE_EXPIRED,  # 二维码已过期，请刷新再试
    "AUTH_CODE_EXPIRE": Reason.CODE_EXPIRED,
    "AUTH_CODE_INVALID": Reason.CODE_EXPIRED,  # 付款码无效/已过期 — or used (see _used)
    "AUTH_CODE_ERROR": Reason.CODE_EXPIRED,
    "NOTSUPORTCARD": Reason.CARD_DECLINED,  # 不支持卡类型
    "NOT_SUPPORT_CARD": Reason.CARD_DECLINED,
    "BUYER_MISMATCH": Reason.TRANSACTION_FORBIDDEN,
    "TRADE_ERROR": Reason.TRANSACTION_FORBIDDEN,
    "RULE_LIMIT": Reason.LIMIT_EXCEEDED,
    "NO_AUTH": Reason.TRANSACTION_FORBIDDEN,
    "ACCOUNT_ERROR": Reason.ACCOUNT_BLOCKED,
    "USER_ACCOUNT_ABNORMAL": Reason.ACCOUNT_BLOCKED,
    "APPID_MCHID_NOT_MATCH": Reason.MERCHANT_MISMATCH,
    "MCH_NOT_EXISTS": Reason.MERCHANT_MISMATCH,
    "PARAM_ERROR": Reason.OTHER,
    "INVALID_REQUEST": Reason.OTHER,
    "SIGN_ERROR": Reason.OTHER,
}
#: "the payer is confirming": ask again
_PAYING = {"USERPAYING"}
#: the order exists already in some state: only a query can say which
_ASK = {"ORDERPAID", "ORDER_PAID", "ORDERREVERSED", "ORDER_REVERSED", "ORDERCLOSED", "ORDER_CLOSED"}
#: the message WeChat Pay gives a code used before (the code is AUTH_CODE_INVALID)
_USED = re.compile(r"仅限使用一次|已使用|used", re.IGNORECASE)
_AUTH_CODE = re.compile(r'("auth_code"\s*:\s*")([0-9]{6,40})(")')


class WechatCodePay:
    """``CodePayCodec`` for one WeChat Pay merchant (direct, or a sub-merchant)."""

    provider: Provider = "wechatpay"

    def __init__(self, config: WechatPayConfig, *, now: Callable[[], float]) -> None:
        self.config = config
        self.calls = Calls(config, now=now)
        self.replies = Replies(config, now=now)

    @property
    def partner(self) -> bool:
        """Service-provider form (服务商模式): a sub-merchant's payments."""
        return self.config.sub_mchid is not None

    # -- calls --------------------------------------------------------------------------------

    def _ids(self) -> dict[str, Any]:
        cfg = self.config
        if cfg.sub_mchid is None:
            return {"appid": cfg.appid, "mchid": cfg.mchid}
        ids = {"sp_appid": cfg.appid, "sp_mchid": cfg.mchid, "sub_mchid": cfg.sub_mchid}
        if cfg.sub_appid:
            ids["sub_appid"] = cfg.sub_appid
        return ids

    def _base(self) -> str:
        return "/v3/pay/partner/transactions" if self.partner else "/v3/pay/transactions"

    def pay_call(self, payment: Payment, code: PaymentCode) -> HttpCall:
        if payment.amount.currency.code != "CNY":
            raise ProtocolError(
                f"{payment.id}: WeChat Pay takes CNY, not {payment.amount.currency}"
            )
        body = {
            **self._ids(),
            "description": (payment.description or payment.reference)[:127],
            "out_trade_no": out_trade_no(payment.id),
            "attach": payment.id,
            "payer": {"auth_code": code.reveal()},
            "amount": {"total": payment.amount.minor, "currency": "CNY"},
            "scene_info": {"store_info": {"out_id": self.config.store_id}},
        }
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        return self.calls.signed("POST", f"{self._base()}/codepay", data, "codepay")

    def query_call(self, record: Record) -> HttpCall:
        no = quote(out_trade_no(record.id), safe="")
        cfg = self.config
        who = (
            f"sp_mchid={cfg.mchid}&sub_mchid={cfg.sub_mchid}"
            if self.partner
            else (f"mchid={cfg.mchid}")
        )
        return self.calls.signed("GET", f"{self._base()}/out-trade-no/{no}?{who}", b"", "query")

    def reverse_call(self, payment: Payment) -> HttpCall:
        no = quote(out_trade_no(payment.id), safe="")
        data = json.dumps(self._ids(), separators=(",", ":")).encode()
        return self.calls.signed(
            "POST", f"{self._base()}/out-trade-no/{no}/reverse", data, "reverse"
        )

    # -- answers ------------------------------------------------------------------------------

    def paid(self, payment: Payment, reply: HttpReply) -> CodeView:
        if 200 <= reply.status < 300 and reply.status != 202:
            return self._transaction(payment, self.replies.json(reply, "codepay"))
        err = self.replies.error(reply, "codepay")
        detail = f"WECHATPAY:{err.code} {err.text}".strip()
        if err.code in _PAYING or reply.status == 202:
            return CodeView(CodeState.PAYING, Outcome.pending(message=detail), detail)
        if err.code in _ASK:
            return CodeView(CodeState.UNCLEAR, Outcome.unknown(detail), detail)
        if err.status >= 500 or err.status == 429 or err.code not in _REFUSED:
            # SYSTEM_ERROR, BANKERROR, FREQUENCY_LIMITED, anything unlisted: may have charged
            return CodeView(CodeState.UNCLEAR, Outcome.unknown(detail), detail)
        reason = _REFUSED[err.code]
        if err.code.startswith("AUTH") and _USED.search(err.text):
            reason = Reason.CODE_USED
        return CodeView(CodeState.REFUSED, Outcome.declined(reason, detail), detail)

    def queried(self, record: Record, reply: HttpReply) -> CodeView:
        if reply.status == 404:
            err = self.replies.error(reply, "query")
            detail = f"WECHATPAY:{err.code}"
            return CodeView(CodeState.ABSENT, Outcome.not_sent(f"no such order ({detail})"), detail)
        if not 200 <= reply.status < 300:
            err = self.replies.error(reply, "query")
            detail = f"WECHATPAY:{err.code} {err.text}".strip()
            return CodeView(CodeState.UNCLEAR, Outcome.unknown(detail), detail)
        return self._transaction(record, self.replies.json(reply, "query"))

    def reversed(self, payment: Payment, reply: HttpReply) -> ReverseResult:
        if 200 <= reply.status < 300:
            self.replies.verified(reply, "reverse")
            return ReverseResult.DONE
        err = self.replies.error(reply, "reverse")
        if err.code in ("ORDER_NOT_EXIST", "ORDERNOTEXIST", "RESOURCE_NOT_EXISTS"):
            return ReverseResult.ABSENT
        if err.code in ("ORDERREVERSED", "ORDER_REVERSED", "ORDER_CLOSED", "ORDERCLOSED"):
            return ReverseResult.DONE
        if err.status >= 500 or err.code in ("SYSTEM_ERROR", "SYSTEMERROR", "FREQUENCY_LIMITED"):
            return ReverseResult.AGAIN  # WeChat Pay: "当撤销无返回或错误时，请再次调用"
        raise ProviderError(err.code, err.text, status=err.status)

    def _transaction(self, record: Record, data: dict[str, Any]) -> CodeView:
        self._check_identity(record, data)
        state = data.get("trade_state")
        ref = data.get("transaction_id") if isinstance(data.get("transaction_id"), str) else None
        desc = data.get("trade_state_desc")
        detail = f"WECHATPAY:{state} {desc if isinstance(desc, str) else ''}".strip()
        taken = data.get("success_time") is not None and ref is not None
        match state:
            case "SUCCESS" | "REFUND":
                amount = transaction_amount(data)
                if amount != record.amount:
                    raise ProtocolError(
                        f"WeChat Pay says {record.id} was paid {amount}; journal has "
                        f"{record.amount}"
                    )
                extra = {k: data[k] for k in ("success_time", "bank_type") if k in data}
                return CodeView(
                    CodeState.PAID,
                    Outcome.succeeded(amount_taken=amount, channel_ref=ref, data=extra),
                    detail,
                )
            case "USERPAYING" | "NOTPAY":
                return CodeView(CodeState.PAYING, Outcome.pending(message=detail), detail)
            case "REVOKED" | "CLOSED":
                if taken:  # paid, then reversed: the money went back to the payer
                    outcome = Outcome(
                        status=Status.REVERSED,
                        amount_taken=transaction_amount(data),
                        channel_ref=ref,
                        reason=Reason.PIN_TIMEOUT,
                        reason_detail=detail,
                    )
                else:
                    outcome = Outcome(
                        status=Status.CANCELLED, reason=Reason.PIN_TIMEOUT, reason_detail=detail
                    )
                return CodeView(CodeState.REVOKED, outcome, detail)
            case "PAYERROR":
                reason = Reason.INSUFFICIENT_FUNDS if "余额" in detail else Reason.OTHER
                return CodeView(CodeState.REFUSED, Outcome.declined(reason, detail), detail)
            case _:
                raise ProtocolError(f"WeChat Pay trade_state {str(state)[:40]!r} is not known")

    def _check_identity(self, record: Record, data: dict[str, Any]) -> None:
        cfg = self.config
        if data.get("out_trade_no") != out_trade_no(record.id):
            raise ProtocolError(f"WeChat Pay answered about another order than {record.id}")
        mchid = data.get("sp_mchid") if self.partner else data.get("mchid")
        if mchid != cfg.mchid or (self.partner and data.get("sub_mchid") != cfg.sub_mchid):
            raise ProtocolError("WeChat Pay answered for another merchant")

    # -- housekeeping -------------------------------------------------------------------------

    def scrub(self, text: str) -> str:
        text = _AUTH_CODE.sub(lambda m: m.group(1) + _masked(m.group(2)) + m.group(3), text)
        for secret in self.config.secret_texts:
            text = text.replace(secret, "[REDACTED]")
        return scrub(re.sub(r'(signature=")[^"]+', r"\1[REDACTED]", text))

    def describe(self) -> str:
        cfg = self.config
        sub = f" sub_mchid {cfg.sub_mchid}" if cfg.sub_mchid else ""
        return f"WeChat Pay codepay mchid {cfg.mchid}{sub} appid {cfg.appid}"


def _masked(digits: str) -> str:
    return digits[:2] + "*" * max(len(digits) - 6, 0) + digits[-4:]
