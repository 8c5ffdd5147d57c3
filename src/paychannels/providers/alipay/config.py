"""An Alipay application's settings: the app id from the URL, keys from options or a file.

``alipay+https://openapi.alipay.com/gateway.do?app_id=2021000000000000&product=precreate``
(``product=bar_code``: 当面付条码支付, the clerk scans the payer's code; ``wait_interval`` and
``wait_limit`` bound the wait while the payer confirms, see docs/channels/paycode.md)
with ``app_private_key`` (ours, signs requests) and ``alipay_public_key`` (Alipay's,
verifies answers and notifications) as options. Mixing the two up is the classic mistake,
so they are named after whose key they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, ClassVar, Literal

from pydantic import SecretStr

from paychannels.providers import rsa
from paychannels.providers.options import LOWERED, ProviderSettings, gather, matching
from paychannels.values.configfile import Between
from paychannels.values.errors import ConfigurationError
from paychannels.values.urls import ParsedURL

__all__ = ["FORM", "PRODUCTS", "WAIT_INTERVAL", "WAIT_LIMIT", "AlipayConfig", "AlipaySettings"]

FORM = (
    "alipay+https://openapi.alipay.com/gateway.do?app_id=APPID&product=precreate|app|bar_code "
    "(bar_code: also &wait_interval=5&wait_limit=60&code_lifetime=120) "
    "(keys as options: app_private_key, alipay_public_key; optional seller_id, notify_url; "
    "or config=FILE.toml)"
)
PRODUCTS = ("precreate", "app", "bar_code")
#: Alipay's face-to-face guidance: query every 3-5 s while the payer confirms, give up after a
#: wait the merchant chooses (60 s in Alipay's example), then cancel
WAIT_INTERVAL = 5.0
WAIT_LIMIT = 60.0


class AlipaySettings(ProviderSettings):
    """An Alipay application's settings, from the URL, options or ``[alipay]`` in a file."""

    URL_NAMES: ClassVar[frozenset[str]] = ProviderSettings.URL_NAMES | {
        "app_id",
        "product",
        "seller_id",
        "wait_interval",
        "wait_limit",
        "code_lifetime",
    }

    app_id: Annotated[str, matching(r"^[0-9]{8,32}$", "digits (an app id)")]
    product: Annotated[Literal["precreate", "app", "bar_code"], LOWERED] = "precreate"
    #: bar_code: seconds between queries while the payer confirms (WAIT_BUYER_PAY)
    wait_interval: Annotated[float, Between(0.01, 60)] = WAIT_INTERVAL
    #: bar_code: how long to wait for the payer before the trade is cancelled
    wait_limit: Annotated[float, Between(0, 600)] = WAIT_LIMIT
    #: bar_code: after this many seconds a trade Alipay does not know can no longer appear
    code_lifetime: Annotated[float, Between(1, 3600)] = 120.0
    seller_id: Annotated[str, matching(r"^2088[0-9]{12}$", "a 2088... partner id")] | None = None
    #: ours, signs requests: PEM text or a file (relative to the config file)
    app_private_key: SecretStr
    #: Alipay's, verifies answers and notifications
    alipay_public_key: str


@dataclass(frozen=True, slots=True)
class AlipayConfig:
    """Everything the Alipay codec needs; built by :meth:`from_url`."""

    app_id: str
    product: str
    app_private_key: rsa.PrivateKey
    alipay_public_key: rsa.PublicKey
    notify_url: str | None
    seller_id: str | None = None
    expire: timedelta = timedelta(hours=2)
    timeout: float = 10.0
    wait_interval: float = WAIT_INTERVAL
    wait_limit: float = WAIT_LIMIT
    code_lifetime: float = 120.0

    @classmethod
    def from_url(cls, parsed: ParsedURL, options: dict[str, Any]) -> AlipayConfig:
        """Build from a channel URL and its options (see the module docstring)."""
        s = gather(parsed, options, AlipaySettings, section="alipay", form=FORM)
        v = s.values
        stray = sorted({"wait_interval", "wait_limit", "code_lifetime"} & v.model_fields_set)
        if stray and v.product != "bar_code":
            raise ConfigurationError(
                f"alipay channel: {', '.join(stray)} apply to product=bar_code only"
            )
        private = s.key_material("app_private_key")
        public = s.key_material("alipay_public_key")
        assert private is not None and public is not None  # required by the model
        return cls(
            app_id=v.app_id,
            product=v.product,
            app_private_key=rsa.load_private_key(private, option="app_private_key"),
            alipay_public_key=rsa.load_public_key(public, option="alipay_public_key"),
            notify_url=v.notify_url,
            seller_id=v.seller_id,
            expire=timedelta(minutes=v.expire_minutes),
            timeout=v.timeout,
            wait_interval=v.wait_interval,
            wait_limit=v.wait_limit,
            code_lifetime=v.code_lifetime,
        )
