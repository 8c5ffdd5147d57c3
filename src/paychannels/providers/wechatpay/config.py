"""A WeChat Pay merchant's settings: ids from the URL, keys from options or a config file.

``wechatpay+https://api.mch.weixin.qq.com?mchid=1900000109&appid=wx...&trade_type=native``
with ``private_key``, ``merchant_serial``, ``apiv3_key`` and at least one of
``platform_certificates`` / (``public_key`` + ``public_key_id``) as options. With both, the
callback's ``Wechatpay-Serial`` picks the key (the migration period sends either).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from paychannels.errors import ConfigurationError
from paychannels.masking import shown
from paychannels.providers import rsa
from paychannels.providers.options import Settings, gather
from paychannels.providers.wechatpay.keys import KeyStore
from paychannels.providers.wechatpay.resource import ResourceCipher
from paychannels.urls import ParsedURL

__all__ = ["FORM", "TRADE_TYPES", "WechatPayConfig"]

FORM = (
    "wechatpay+https://api.mch.weixin.qq.com?mchid=MCHID&appid=APPID&trade_type=native|app|jsapi"
    " (keys as options: private_key, merchant_serial, apiv3_key, platform_certificates and/or "
    "public_key + public_key_id; or config=FILE.toml)"
)
TRADE_TYPES = ("native", "app", "jsapi")
_URL_NAMES = {
    "mchid",
    "appid",
    "trade_type",
    "notify_url",
    "refund_notify_url",
    "expire_minutes",
    "window",
    "timeout",
    "auto_certificates",
}
_OPTION_NAMES = {
    "private_key",
    "merchant_serial",
    "apiv3_key",
    "platform_certificates",
    "public_key",
    "public_key_id",
}
_MCHID = re.compile(r"^[0-9]{6,32}$")
_APPID = re.compile(r"^wx[0-9A-Za-z]{16}$")
_SERIAL = re.compile(r"^[0-9A-Fa-f]{1,64}$")


@dataclass(frozen=True, slots=True)
class WechatPayConfig:
    """Everything the WeChat Pay codec needs; built by :meth:`from_url`."""

    mchid: str
    appid: str
    trade_type: str
    merchant_serial: str
    private_key: rsa.PrivateKey
    cipher: ResourceCipher
    keys: KeyStore
    notify_url: str
    refund_notify_url: str
    expire: timedelta = timedelta(hours=2)
    window: float = 300.0
    timeout: float = 10.0
    auto_certificates: bool = True
    secret_texts: tuple[str, ...] = field(default=(), repr=False)  # the APIv3 key

    @classmethod
    def from_url(cls, parsed: ParsedURL, options: dict[str, Any]) -> WechatPayConfig:
        """Build from a channel URL and its options (see the module docstring)."""
        s = gather(
            parsed,
            options,
            url_names=_URL_NAMES,
            option_names=_OPTION_NAMES,
            section="wechatpay",
            form=FORM,
        )
        mchid = s.need("mchid")
        appid = s.need("appid")
        if not _MCHID.match(mchid):
            raise ConfigurationError(f"{s.source}: mchid must be digits (got {shown(mchid)})")
        if not _APPID.match(appid):
            raise ConfigurationError(
                f"{s.source}: appid {shown(appid)} is not an app id (wx + 16 letters or digits)"
            )
        trade_type = (s.text("trade_type", "native") or "native").lower()
        if trade_type not in TRADE_TYPES:
            raise ConfigurationError(f"{s.source}: trade_type must be one of {TRADE_TYPES}")
        serial = s.need("merchant_serial")
        if not _SERIAL.match(serial):
            raise ConfigurationError(f"{s.source}: merchant_serial must be a hex serial")
        key_material = s.key_material("private_key")
        if key_material is None:
            raise ConfigurationError(f"{s.source}: private_key is required")
        apiv3 = s.need("apiv3_key")
        keys = _keystore(s)
        notify = s.need("notify_url")
        return cls(
            mchid=mchid,
            appid=appid,
            trade_type=trade_type,
            merchant_serial=serial.upper(),
            private_key=rsa.load_private_key(key_material, option="private_key"),
            cipher=ResourceCipher(apiv3),
            keys=keys,
            notify_url=notify,
            refund_notify_url=s.text("refund_notify_url") or notify,
            expire=timedelta(minutes=s.number("expire_minutes", 120)),
            window=s.number("window", 300),
            timeout=s.number("timeout", 10),
            auto_certificates=_flag(s.values.get("auto_certificates", True), s.source),
            secret_texts=(apiv3,),
        )


def _keystore(s: Settings) -> KeyStore:
    certs = [
        rsa.load_certificate(item, option="platform_certificates")
        for item in s.key_list("platform_certificates")
    ]
    pub_material = s.key_material("public_key")
    pub_id = s.text("public_key_id")
    if (pub_material is None) != (pub_id is None):
        raise ConfigurationError(f"{s.source}: public_key and public_key_id go together")
    public = (
        None if pub_material is None else rsa.load_public_key(pub_material, option="public_key")
    )
    if pub_id is not None and not pub_id.startswith("PUB_KEY_ID_"):
        raise ConfigurationError(f"{s.source}: public_key_id must start with PUB_KEY_ID_")
    return KeyStore(certs, public_key=public, public_key_id=pub_id)


def _flag(value: object, source: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{source}: auto_certificates must be true or false")
