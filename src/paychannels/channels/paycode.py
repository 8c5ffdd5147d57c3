"""``paycode://?wechatpay=<channel>&alipay=<channel>``: one channel name for the till.

The clerk scans whatever the payer shows; the code itself says who issued it (WeChat Pay or
Alipay), and this router names the channel of that provider. The Collector asks it *before*
journaling the intent, so the journal always holds the real provider channel (the one
``recover()`` must ask); the router itself never sends anything.
"""

from __future__ import annotations

from typing import Any, get_args

from paychannels.channels.base import Channel, ChannelContext
from paychannels.values.errors import InvalidRequest, InvalidURL, NotSentError
from paychannels.values.models import Outcome, Payment, PaymentRequest
from paychannels.values.paymentcode import InvalidPaymentCode, Provider
from paychannels.values.urls import ParsedURL

__all__ = ["PayCodeRouter", "from_url"]

_FORM = "paycode://?wechatpay=<channel name>&alipay=<channel name> (at least one)"
_PROVIDERS: tuple[Provider, ...] = get_args(Provider)
_NAMES = {"wechatpay": "WeChat Pay", "alipay": "Alipay"}


class PayCodeRouter(Channel):
    """Names the channel that takes a scanned payment code, by the code's provider."""

    scheme = "paycode"

    def __init__(self, targets: dict[Provider, str]) -> None:
        if not targets:
            raise InvalidURL(f"a paycode router needs at least one provider channel: {_FORM}")
        self.targets = dict(targets)

    def route(self, request: PaymentRequest) -> str:
        """The channel for ``request``'s payment code (refused without one, or of another
        provider than those this till takes)."""
        code = request.payment_code
        if code is None:
            raise InvalidRequest(
                "a paycode channel takes scanned payment codes only: "
                "PaymentRequest.payment_code is missing"
            )
        target = self.targets.get(code.provider)
        if target is None:
            raise InvalidPaymentCode(
                f"this till takes no {_NAMES[code.provider]} payment codes "
                f"(the paycode channel names no {code.provider}= channel)"
            )
        return target

    def start(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        """Never called: the Collector routes before journaling; nothing is sent from here."""
        raise NotSentError("a paycode router sends nothing; it names the provider's channel")

    def describe(self) -> str:
        return "paycode://?" + "&".join(f"{p}={n}" for p, n in sorted(self.targets.items()))


def from_url(parsed: ParsedURL, **options: Any) -> PayCodeRouter:
    """Entry point for ``paycode://`` URLs."""
    parsed.check_options(set(_PROVIDERS), _FORM)
    if parsed.host or parsed.path not in ("", "/") or options:
        raise InvalidURL(f"{parsed.raw!r}: a paycode router takes only options: {_FORM}")
    targets: dict[Provider, str] = {}
    for provider in _PROVIDERS:
        name = parsed.option(provider)
        if name is not None:
            targets[provider] = name
    return PayCodeRouter(targets)
