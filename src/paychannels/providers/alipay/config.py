"""An Alipay application's settings: the app id from the URL, keys from options or a file.

``alipay+https://openapi.alipay.com/gateway.do?app_id=2021000000000000&product=precreate``
with ``app_private_key`` (ours, signs requests) and ``alipay_public_key`` (Alipay's,
verifies answers and notifications) as options. Mixing the two up is the classic mistake,
so they are named after whose key they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from paychannels.errors import ConfigurationError
from paychannels.masking import shown
from paychannels.providers import rsa
from paychannels.providers.options import gather
from paychannels.urls import ParsedURL

__all__ = ["FORM", "PRODUCTS", "AlipayConfig"]

FORM = (
    "alipay+https://openapi.alipay.com/gateway.do?app_id=APPID&product=precreate|app "
    "(keys as options: app_private_key, alipay_public_key; optional seller_id, notify_url; "
    "or config=FILE.toml)"
)
PRODUCTS = ("precreate", "app")
_URL_NAMES = {"app_id", "product", "seller_id", "notify_url", "expire_minutes", "timeout"}
_OPTION_NAMES = {"app_private_key", "alipay_public_key"}
_APP_ID = re.compile(r"^[0-9]{8,32}$")
_SELLER = re.compile(r"^2088[0-9]{12}$")


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

    @classmethod
    def from_url(cls, parsed: ParsedURL, options: dict[str, Any]) -> AlipayConfig:
        """Build from a channel URL and its options (see the module docstring)."""
        s = gather(
            parsed,
            options,
            url_names=_URL_NAMES,
            option_names=_OPTION_NAMES,
            section="alipay",
            form=FORM,
        )
        app_id = s.need("app_id")
        if not _APP_ID.match(app_id):
            raise ConfigurationError(f"{s.source}: app_id must be digits (got {shown(app_id)})")
        product = (s.text("product", "precreate") or "precreate").lower()
        if product not in PRODUCTS:
            raise ConfigurationError(f"{s.source}: product must be one of {PRODUCTS}")
        seller = s.text("seller_id")
        if seller is not None and not _SELLER.match(seller):
            raise ConfigurationError(f"{s.source}: seller_id must be a 2088... partner id")
        private = s.key_material("app_private_key")
        public = s.key_material("alipay_public_key")
        if private is None or public is None:
            raise ConfigurationError(
                f"{s.source}: app_private_key and alipay_public_key are both required"
            )
        return cls(
            app_id=app_id,
            product=product,
            app_private_key=rsa.load_private_key(private, option="app_private_key"),
            alipay_public_key=rsa.load_public_key(public, option="alipay_public_key"),
            notify_url=s.text("notify_url"),
            seller_id=seller,
            expire=timedelta(minutes=s.number("expire_minutes", 120)),
            timeout=s.number("timeout", 10),
        )
