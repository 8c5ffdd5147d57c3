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
    "wechatpay+https://api.mch.weixin.qq.com?mchid=MCHID&appid=APPID"
    "&trade_type=native|app|jsapi|codepay (codepay: also &sub_mchid=… for a service provider's"
    " sub-merchant, &wait_interval=5&wait_limit=45&code_lifetime=120&store_id=…;"
    " keys as options: private_key,"
    " merchant_serial, apiv3_key, platform_certificates and/or "
    "public_key + public_key_id; or config=FILE.toml)"
)
TRADE_TYPES = ("native", "app", "jsapi", "codepay")


class WechatPaySettings(ProviderSettings):
    """A WeChat Pay merchant's settings, from the URL, options or ``[wechatpay]`` in a file."""

    URL_NAMES: ClassVar[frozenset[str]] = ProviderSettings.URL_NAMES | {
        "mchid",
        "appid",
        "trade_type",
        "refund_notify_url",
        "window",
        "auto_certificates",
        "sub_mchid",
        "sub_appid",
        "wait_interval",
        "wait_limit",
        "store_id",
        "code_lifetime",
    }

    mchid: Annotated[str, matching(r"^[0-9]{6,32}$", "digits (a merchant id)")]
    appid: Annotated[str, matching(r"^wx[0-9A-Za-z]{16}$", "an app id (wx + 16 letters or digits)")]
    trade_type: Annotated[Literal["native", "app", "jsapi", "codepay"], LOWERED] = "native"
    #: where callbacks go (codepay: refund callbacks only; payment codes answer at once)
    notify_url: str
    #: a service provider's sub-merchant (服务商模式): mchid/appid are then the provider's
    sub_mchid: Annotated[str, matching(r"^[0-9]{6,32}$", "digits (a merchant id)")] | None = None
    sub_appid: Annotated[str, matching(r"^wx[0-9A-Za-z]{16}$", "an app id")] | None = None
    #: codepay: seconds between queries while the payer confirms, and how long to wait in all
    wait_interval: Annotated[float, Between(0.01, 60)] = 5.0
    wait_limit: Annotated[float, Between(0, 600)] = 45.0
    #: codepay: how long a scanned code can still create an order (WeChat refreshes it each
    #: minute); an order still unknown to WeChat Pay after this is NOT_SENT
    code_lifetime: Annotated[float, Between(1, 3600)] = 120.0
    #: codepay: the merchant's own store number (scene_info.store_info.out_id)
    store_id: Annotated[str, matching(r"^[0-9A-Za-z_-]{1,32}$", "a store id")] = "hall"
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
    sub_mchid: str | None = None
    sub_appid: str | None = None
    wait_interval: float = 5.0
    wait_limit: float = 45.0
    code_lifetime: float = 120.0
    store_id: str = "hall"
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
        if v.trade_type != "codepay" and (v.sub_mchid or v.sub_appid):
            raise ConfigurationError(
                f"{s.source}: sub_mchid/sub_appid (service provider form) go with "
                "trade_type=codepay only"
            )
        notify = v.notify_url
        return cls(
            mchid=v.mchid,
            appid=v.appid,
            trade_type=v.trade_type,
            merchant_serial=v.merchant_serial.upper(),
            private_key=rsa.load_private_key(key_material, option="private_key"),
            cipher=ResourceCipher(apiv3),
            keys=_keystore(s),
            notify_url=notify,
            refund_notify_url=v.refund_notify_url or notify,
            expire=timedelta(minutes=v.expire_minutes),
            window=v.window,
            timeout=v.timeout,
            auto_certificates=v.auto_certificates,
            secret_texts=(apiv3,),
            sub_mchid=v.sub_mchid,
            sub_appid=v.sub_appid,
            wait_interval=v.wait_interval,
            wait_limit=v.wait_limit,
            code_lifetime=v.code_lifetime,
            store_id=v.store_id,
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
