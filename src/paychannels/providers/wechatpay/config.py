"""A WeChat Pay merchant's settings: ids from the URL, keys from options or a config file.

``wechatpay+https://api.mch.weixin.qq.com?mchid=1900000109&appid=wx...&trade_type=native``
with ``private_key``, ``merchant_serial``, ``apiv3_key`` and at least one of
``platform_certificates`` / (``public_key`` + ``public_key_id``) as options. With both, the
callback's ``Wechatpay-Serial`` picks the key (the migration period sends either).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, SecretStr

from paychannels.providers import rsa
from paychannels.providers.options import LOWERED, ProviderSettings, Settings, gather, matching
from paychannels.providers.wechatpay.keys import KeyStore
from paychannels.providers.wechatpay.resource import ResourceCipher
from paychannels.values.configfile import Between
from paychannels.values.errors import ConfigurationError
from paychannels.values.urls import ParsedURL

__all__ = ["FORM", "TRADE_TYPES", "WechatPayConfig", "WechatPaySettings"]

FORM = (
    "wechatpay+https://api.mch.weixin.qq.com?mchid=MCHID&appid=APPID&trade_type=native|app|jsapi"
    " (keys as options: private_key, merchant_serial, apiv3_key, platform_certificates and/or "
    "public_key + public_key_id; or config=FILE.toml)"
)
TRADE_TYPES = ("native", "app", "jsapi")


class WechatPaySettings(ProviderSettings):
    """A WeChat Pay merchant's settings, from the URL, options or ``[wechatpay]`` in a file."""

    URL_NAMES: ClassVar[frozenset[str]] = ProviderSettings.URL_NAMES | {
        "mchid",
        "appid",
        "trade_type",
        "refund_notify_url",
        "window",
        "auto_certificates",
    }

    mchid: Annotated[str, matching(r"^[0-9]{6,32}$", "digits (a merchant id)")]
    appid: Annotated[str, matching(r"^wx[0-9A-Za-z]{16}$", "an app id (wx + 16 letters or digits)")]
    trade_type: Annotated[Literal["native", "app", "jsapi"], LOWERED] = "native"
    notify_url: str
    refund_notify_url: str | None = None
    window: Annotated[float, Between(1, 3600)] = 300.0
    auto_certificates: bool = True
    merchant_serial: Annotated[str, matching(r"^[0-9A-Fa-f]{1,64}$", "a hex serial")]
    #: our private key: PEM text or a file (relative to the config file)
    private_key: SecretStr
    apiv3_key: SecretStr
    platform_certificates: str | list[str] = Field(default_factory=list)
    public_key: str | None = None
    public_key_id: Annotated[str, matching(r"^PUB_KEY_ID_", "PUB_KEY_ID_...")] | None = None


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
        s = gather(parsed, options, WechatPaySettings, section="wechatpay", form=FORM)
        v = s.values
        key_material = s.key_material("private_key")
        assert key_material is not None  # required by the model
        apiv3 = v.apiv3_key.get_secret_value()
        return cls(
            mchid=v.mchid,
            appid=v.appid,
            trade_type=v.trade_type,
            merchant_serial=v.merchant_serial.upper(),
            private_key=rsa.load_private_key(key_material, option="private_key"),
            cipher=ResourceCipher(apiv3),
            keys=_keystore(s),
            notify_url=v.notify_url,
            refund_notify_url=v.refund_notify_url or v.notify_url,
            expire=timedelta(minutes=v.expire_minutes),
            window=v.window,
            timeout=v.timeout,
            auto_certificates=v.auto_certificates,
            secret_texts=(apiv3,),
        )


def _keystore(s: Settings[WechatPaySettings]) -> KeyStore:
    v = s.values
    listed = (
        [v.platform_certificates]
        if isinstance(v.platform_certificates, str)
        else list(v.platform_certificates)
    )
    certs = [
        rsa.load_certificate(s.material(item), option="platform_certificates") for item in listed
    ]
    pub_material = s.key_material("public_key")
    if (pub_material is None) != (v.public_key_id is None):
        raise ConfigurationError(f"{s.source}: public_key and public_key_id go together")
    public = (
        None if pub_material is None else rsa.load_public_key(pub_material, option="public_key")
    )
    return KeyStore(certs, public_key=public, public_key_id=v.public_key_id)
