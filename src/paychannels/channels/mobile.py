"""MobilePayChannel: pay from the phone (WeChat Pay, Alipay), one class, codecs pluggable.

The flow is the same for every provider; only the wire differs (``paychannels.providers``):

- ``start`` creates the order (Native QR / App or JSAPI prepay / precreate / app order
  string) and reports PENDING with what the payer needs in ``Outcome.data``.
- ``inquire`` queries by ``out_trade_no`` (our payment id). An unpaid order whose expiry has
  passed, or whose create answer we never saw (UNKNOWN: the payer cannot hold its QR code),
  is closed, so it can never be paid later; an order that does not exist is NOT_SENT unless
  the provider creates orders only when the payer opens them (Alipay), where it means "not
  paid yet" until the expiry.
- ``cancel`` closes; if the payer paid first, the query's SUCCEEDED is what is reported.
- ``parse_callback`` verifies on the raw bytes; a refused callback yields only hints.
- ``download_bill`` fetches the provider's bill for a day and records it as the channel's
  settlement figures for reconciliation.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

import httpx

from paychannels.channels.base import Capabilities, Channel, ChannelContext, Notice, Reply
from paychannels.channels.codepay import CodePayChannel
from paychannels.channels.settlement import record_settlement
from paychannels.links.http import ProviderHTTP, Transcript
from paychannels.providers.base import (
    AskAgain,
    CloseResult,
    HttpCall,
    HttpReply,
    OrderState,
    OrderView,
    ProviderCodec,
    closed_outcome,
)
from paychannels.providers.bills import BILL_TIMEOUT, MAX_BILL_BYTES, ProviderBill
from paychannels.providers.codepay import CodePayCodec
from paychannels.security.verification import CallbackRejected, Headers, UnknownKey
from paychannels.values.errors import InvalidRequest, InvalidURL, ProtocolError
from paychannels.values.models import Outcome, Payment, Record, Refund, as_payment
from paychannels.values.reasons import Reason
from paychannels.values.status import Status
from paychannels.values.urls import ParsedURL, http_base

if TYPE_CHECKING:
    from paychannels.providers.wechatpay.config import WechatPayConfig

__all__ = ["MobilePayChannel", "alipay_from_url", "wechatpay_from_url"]

log = logging.getLogger("paychannels.channels.mobile")

#: an expired order is only closed this long after its expiry (clock skew, in-flight payers)
GRACE = timedelta(seconds=60)
_CHANNEL_OPTIONS = {"transport", "attempts", "backoff", "now", "sleep"}


@runtime_checkable
class RefreshesKeys(Protocol):
    """A codec whose verification keys can be downloaded (WeChat platform certificates)."""

    def certificates_call(self) -> HttpCall:
        """The download call."""
        ...

    def load_certificates(self, reply: HttpReply) -> int:
        """Hold what was downloaded; how many keys were new."""
        ...


class MobilePayChannel(Channel):
    """One mobile-payment provider account behind the unified verbs."""

    scheme = "wechatpay alipay"
    capabilities = Capabilities(
        inquire=True,
        cancel=True,
        refund=True,
        partial_refund=True,
        callback=True,
        asynchronous=True,
        dispatch_timeout=60.0,
    )

    def __init__(
        self,
        codec: ProviderCodec,
        http: ProviderHTTP,
        *,
        expire: timedelta,
        refresh_every: float = 60.0,
    ) -> None:
        self.codec = codec
        self.http = http
        self.expire = expire
        self._refresh_every = refresh_every
        self._refreshed_at = float("-inf")
        self._refresh_lock = threading.Lock()

    # -- payments ---------------------------------------------------------------------------

    def expires_at(self, record: Record) -> datetime:
        """When the order stops being payable (fixed by the payment, so retries agree)."""
        return record.created_at + self.expire

    def start(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        expires_at = self.expires_at(payment)
        try:
            call = self.codec.create_order(payment, expires_at)
        except InvalidRequest as exc:
            return Outcome.declined(Reason.TRANSACTION_FORBIDDEN, str(exc))
        ctx.crashpoint("channel.before_send")
        reply = None if call is None else self.http.send(call)
        ctx.crashpoint("channel.after_send")
        result = self.codec.created(payment, reply, expires_at)
        if isinstance(result, AskAgain):
            ctx.progress(f"order exists already ({result.detail}); asking its state")
            return self._view(payment).outcome
        return result

    def _view(self, record: Record) -> OrderView:
        return self.codec.order_view(record, self.http.send(self.codec.query_order(record)))

    def inquire(self, record: Record, ctx: ChannelContext) -> Outcome:
        if isinstance(record, Refund):
            return self.codec.refund_view(record, self.http.send(self.codec.query_refund(record)))
        view = self._view(record)
        expired = ctx.clock.now() >= self.expires_at(record) + GRACE
        match view.state:
            case OrderState.UNPAID if expired or record.status is not Status.PENDING:
                return self._close_and_tell(as_payment(record), ctx)
            case OrderState.ABSENT if self.codec.absent_until_buyer_acts and (
                record.status is Status.PENDING
            ):
                if expired:
                    return closed_outcome(message="the payer never opened it before it expired")
                return Outcome.pending(message="the payer has not opened the order yet")
            case _:
                return view.outcome

    def _close_and_tell(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        result = self.codec.closed(payment, self.http.send(self.codec.close_order(payment)))
        ctx.progress(f"closed the unpaid order at {self.codec.provider}: {result}")
        match result:
            case CloseResult.CLOSED:
                return closed_outcome(message="closed unpaid at the provider")
            case CloseResult.ABSENT if self.codec.absent_until_buyer_acts and (
                ctx.clock.now() < self.expires_at(payment) + GRACE
            ):
                return Outcome.pending(
                    message=f"{self.codec.provider} cannot close an order the payer has not "
                    f"opened; it expires at {self.expires_at(payment).isoformat()}"
                )
            case CloseResult.ABSENT:
                return closed_outcome(message="no such order at the provider")
            case CloseResult.PAID | CloseResult.ASK:
                return self._view(payment).outcome

    def cancel(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        return self._close_and_tell(payment, ctx)

    def refund(self, refund: Refund, payment: Payment, ctx: ChannelContext) -> Outcome:
        try:
            call = self.codec.create_refund(refund, payment)
        except InvalidRequest as exc:
            return Outcome.declined(Reason.TRANSACTION_FORBIDDEN, str(exc))
        ctx.crashpoint("channel.before_send")
        reply = self.http.send(call)
        ctx.crashpoint("channel.after_send")
        return self.codec.refunded(refund, reply)

    # -- callbacks ------------------------------------------------------------------------------

    def parse_callback(
        self, headers: Mapping[str, str], body: bytes, ctx: ChannelContext
    ) -> tuple[list[Notice], Reply]:
        hdrs = headers if isinstance(headers, Headers) else Headers(headers)
        reading = self.codec.read_callback(hdrs, body)
        if isinstance(reading.error, UnknownKey) and self._refresh_keys():
            reading = self.codec.read_callback(hdrs, body)
        if reading.error is not None:
            log.warning(
                "%s: callback refused (%s: %s); %d hint(s) to inquire",
                ctx.channel_name,
                type(reading.error).__name__,
                self.scrub(str(reading.error)),
                len(reading.notices),
            )
            return reading.notices, self.codec.reject_reply(reading.error)
        return reading.notices, self.codec.accept_reply()

    def _refresh_keys(self) -> bool:
        """Download new platform certificates, at most once a minute; True if any were new."""
        codec = self.codec
        if not isinstance(codec, RefreshesKeys):
            return False
        with self._refresh_lock:
            now = time.monotonic()
            if now - self._refreshed_at < self._refresh_every:
                return False
            self._refreshed_at = now
            try:
                added = codec.load_certificates(self.http.send(codec.certificates_call()))
            except Exception as exc:  # a failed download must not break the callback
                log.warning("certificate download failed: %s", self.scrub(str(exc)))
                return False
        log.info("downloaded %d new platform certificate(s)", added)
        return added > 0

    def reject_reply(self, error: CallbackRejected | None = None) -> Reply:
        """The provider's failure reply: for ``error``, or for our own trouble (journal down)."""
        return self.codec.reject_reply(error)

    # -- bills ------------------------------------------------------------------------------------

    def download_bill(self, ctx: ChannelContext, day: date) -> ProviderBill:
        """The provider's bill for ``day`` (Beijing time), recorded as settlement figures.

        A day without trades has no bill at the provider: an empty one is recorded. The
        file comes from the API host or a host the codec names (``bill_hosts``), over HTTPS
        (plain HTTP only for the loopback simulator), within ``MAX_BILL_BYTES``.
        """
        codec = self.codec
        wait = max(BILL_TIMEOUT, self.http.timeout)
        location = codec.bill_location(day, self.http.send(codec.bill_request(day), timeout=wait))
        if location is None:
            bill = ProviderBill(
                codec.provider, day, "CNY", (), f"{codec.provider} bill of {day} (no trades)"
            )
        else:
            path = self._bill_path(location.url)
            reply = self.http.send(
                codec.bill_download(location, path), max_body=MAX_BILL_BYTES, timeout=wait
            )
            if reply.status != 200:
                raise ProtocolError(f"{codec.provider} bill download answered HTTP {reply.status}")
            bill = codec.read_bill(day, location, reply.body)
        record_settlement(ctx, bill.settlement(ctx.clock.now()))
        return bill

    def _bill_path(self, url: str) -> str | None:
        """The path of a bill URL on the API host; None for a trusted file host; else refused."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin == self.http.base_url:
            return parts.path + (f"?{parts.query}" if parts.query else "")
        host = parts.hostname or ""
        trusted = any(
            host == h or (h.startswith(".") and host.endswith(h)) for h in self.codec.bill_hosts
        )
        if parts.scheme != "https" or not trusted:
            raise ProtocolError(
                f"{self.codec.provider} named a bill URL we do not trust: {url[:80]!r}"
            )
        return None

    # -- housekeeping ---------------------------------------------------------------------------

    def transcript(self) -> str:
        """The scrubbed exchanges with the provider so far."""
        return self.http.transcript.text() if self.http.transcript else ""

    def scrub(self, text: str) -> str:
        return self.codec.scrub(text)

    def describe(self) -> str:
        return f"{self.codec.provider} at {self.http.base_url}: {self.codec.describe()}"

    def close(self) -> None:
        self.http.close()


# -- factories (entry points of the paychannels.channels group) ---------------------------------


def _split(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    channel = {k: options[k] for k in _CHANNEL_OPTIONS if k in options}
    rest = {k: v for k, v in options.items() if k not in _CHANNEL_OPTIONS}
    return channel, rest


def _http(
    base: str, timeout: float, codec_scrub: Callable[[str], str], opts: dict[str, Any]
) -> ProviderHTTP:
    transport: httpx.BaseTransport | None = opts.get("transport")
    return ProviderHTTP(
        base,
        timeout=timeout,
        attempts=int(opts.get("attempts", 3)),
        backoff=float(opts.get("backoff", 0.2)),
        transport=transport,
        transcript=Transcript(codec_scrub),
    )


def wechatpay_from_url(parsed: ParsedURL, **options: Any) -> MobilePayChannel | CodePayChannel:
    """``wechatpay+https://api.mch.weixin.qq.com?mchid=...&appid=...`` (see WechatPayConfig)."""
    from paychannels.providers.wechatpay import WechatPayCodec, WechatPayConfig
    from paychannels.providers.wechatpay.config import FORM

    base = http_base(parsed, FORM)
    if parsed.path not in ("", "/"):
        raise InvalidURL(f"{parsed.raw!r}: WeChat Pay API v3 lives at the root; expected {FORM}")
    opts, rest = _split(options)
    config = WechatPayConfig.from_url(parsed, rest)
    now: Callable[[], float] = opts.get("now", time.time)
    codec = WechatPayCodec(config, now=now)
    if config.trade_type == "codepay":
        return _wechat_codepay(base, config, codec, opts)
    http = _http(base, config.timeout, codec.scrub, opts)
    return MobilePayChannel(codec, http, expire=config.expire)


def _wechat_codepay(
    base: str, config: WechatPayConfig, codec: ProviderCodec, opts: dict[str, Any]
) -> CodePayChannel:
    """``trade_type=codepay``: the clerk scans the payer's code (see channels/codepay.py)."""
    from paychannels.providers.wechatpay.codepay import WechatCodePay

    codepay = WechatCodePay(config, now=opts.get("now", time.time))
    http = _http(base, config.timeout, codepay.scrub, opts)
    refunds = MobilePayChannel(codec, http, expire=config.expire)  # same account, same link
    return _scanning(codepay, http, config, refunds, opts)


def alipay_from_url(parsed: ParsedURL, **options: Any) -> MobilePayChannel | CodePayChannel:
    """``alipay+https://openapi.alipay.com/gateway.do?app_id=...`` (see AlipayConfig)."""
    from paychannels.providers.alipay import AlipayCodec, AlipayConfig
    from paychannels.providers.alipay.config import FORM

    base = http_base(parsed, FORM)
    opts, rest = _split(options)
    config = AlipayConfig.from_url(parsed, rest)
    now: Callable[[], float] = opts.get("now", time.time)
    path = parsed.path if parsed.path not in ("", "/") else "/gateway.do"
    codec = AlipayCodec(config, gateway_path=path, now=now)
    http = _http(base, config.timeout, codec.scrub, opts)
    refunds = MobilePayChannel(codec, http, expire=config.expire)
    if config.product != "bar_code":
        return refunds
    from paychannels.providers.alipay.codepay import AlipayCodePay

    # 当面付 条码支付: the clerk scans the payer's code
    return _scanning(AlipayCodePay(codec), http, config, refunds, opts)


class _Waits(Protocol):
    """How long a code channel waits for the payer, as both providers' settings say it."""

    @property
    def wait_interval(self) -> float: ...
    @property
    def wait_limit(self) -> float: ...
    @property
    def code_lifetime(self) -> float: ...


def _scanning(
    codepay: CodePayCodec,
    http: ProviderHTTP,
    waits: _Waits,
    refunds: MobilePayChannel,
    opts: dict[str, Any],
) -> CodePayChannel:
    """The code channel of an account: its codec, and refunds through the account's own."""
    return CodePayChannel(
        codepay,
        http,
        wait_interval=waits.wait_interval,
        wait_limit=waits.wait_limit,
        code_lifetime=waits.code_lifetime,
        refunds=refunds,
        sleep=opts.get("sleep", time.sleep),
    )
