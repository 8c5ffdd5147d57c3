"""``nexo+https://host/path?poi=TERMINAL_ID``: a cloud terminal channel from a URL.

The entry point ``nexo`` of the ``paychannels.channels`` group. The URL says where the
cloud is and which terminal (``poi``); requests go to ``<path>/sync`` and ``<path>/async``
(Adyen: ``https://terminal-api-test.adyen.com`` or, for its Cloud device API,
``https://device-api-test.adyen.com/v1/merchants/{account}/devices/{device}``). Plain
``nexo+http`` is only for a simulator on the loopback interface. Secrets — the API key and
the notification secrets — come as keyword arguments or from a config file
(``config="/etc/paychannels/nexo.toml"``), never from the URL. ``ca_bundle=/path/ca.pem``
trusts a private CA for the cloud's certificate (verification is always on).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import httpx
from pydantic import ConfigDict, Field, SecretStr
from pydantic.json_schema import SkipJsonSchema

from paychannels.drivers.nexo.build import Identity
from paychannels.drivers.nexo.channel import CloudPosChannel, NexoSettings, scrub_secrets
from paychannels.drivers.nexo.cloud import Cloud, Exchanges, Timeouts
from paychannels.drivers.nexo.notifications import DEFAULT_HEADER, NotificationReader
from paychannels.drivers.terminal import address
from paychannels.links.http import trust
from paychannels.providers.options import LOWERED, ChannelSettings, Settings, gather, matching
from paychannels.security.webhooks import TimestampedHmac
from paychannels.values.configfile import Between
from paychannels.values.currencies import currency as find_currency
from paychannels.values.errors import ConfigurationError, UnknownCurrency
from paychannels.values.urls import ParsedURL, http_base

__all__ = ["FORM", "NexoOptions", "from_url"]

FORM = (
    "nexo+https://host/path?poi=TERMINAL_ID[&mode=sync|async&sale_id=...&timeout=180"
    "&status_timeout=30&status_wait=150&abort_wait=10&currency=CNY&ca_bundle=/path/ca.pem]"
)
_IDENT = r"^[\x21-\x7e]{1,64}$"
_Seconds = Annotated[float, Between(0, 86400)]


class NexoOptions(ChannelSettings):
    """A cloud terminal's settings, from the URL, options or ``[nexo]`` in a config file."""

    URL_NAMES: ClassVar[frozenset[str]] = frozenset(
        {"poi", "mode", "sale_id", "timeout", "status_timeout", "connect_timeout"}
        | {"status_wait", "abort_wait", "currency", "notify_header", "notify_window"}
        | {"ca_bundle"}
    )
    model_config = ConfigDict(arbitrary_types_allowed=True)

    poi: Annotated[str, matching(_IDENT, "1-64 visible characters (the terminal's POIID)")]
    mode: Annotated[Literal["sync", "async"], LOWERED] = "sync"
    sale_id: Annotated[str, matching(_IDENT, "1-64 visible characters")] = "paychannels"
    timeout: _Seconds = 180.0
    status_timeout: _Seconds = 30.0
    connect_timeout: _Seconds = 5.0
    status_wait: _Seconds = 150.0
    abort_wait: _Seconds = 10.0
    currency: str = "CNY"
    notify_header: str = DEFAULT_HEADER
    notify_window: _Seconds = 300.0
    api_key: SecretStr | None = None
    notify_secret: SecretStr | list[SecretStr] = Field(default_factory=list)
    attempts: Annotated[int, Between(1, 100)] = 3
    backoff: Annotated[float, Between(0, 60)] = 0.2
    report_url: str = ""
    #: a PEM file of the CAs that sign the cloud's certificate (instead of the system's)
    ca_bundle: str = ""
    #: an httpx transport (tests, proxies); an option only, never in a file
    transport: SkipJsonSchema[httpx.BaseTransport | None] = None


def _secrets(settings: Settings[NexoOptions]) -> list[str]:
    raw = settings.values.notify_secret
    items = [raw] if isinstance(raw, SecretStr) else raw
    texts = [item.get_secret_value() for item in items]
    if not all(len(s) >= 16 for s in texts):
        raise ConfigurationError(f"{settings.source}: notify_secret must be text of 16+ characters")
    return texts


def _report_url(settings: Settings[NexoOptions], base: str) -> str:
    """Where daily settlement reports are: HTTPS, or on the (loopback) cloud's own origin."""
    url = settings.values.report_url
    if url and not url.startswith(("https://", base + "/")):
        raise ConfigurationError(
            f"{settings.source}: report_url must be https://... (or on {base} for a simulator)"
        )
    return url


def _ca_bundle(settings: Settings[NexoOptions], parsed: ParsedURL) -> str | None:
    """The CA bundle file, checked now: a typo must not wait for the first payment."""
    path = settings.values.ca_bundle
    if not path:
        return None
    if parsed.transport != "https":
        raise ConfigurationError(f"{settings.source}: ca_bundle is for nexo+https only")
    trust(path)  # raises ConfigurationError naming the file when it is not a PEM bundle
    return path


def from_url(parsed: ParsedURL, **options: Any) -> CloudPosChannel:
    """Entry point: ``open_channel("nexo+https://...?poi=P400Plus-1", api_key=...)``."""
    base = http_base(parsed, FORM)
    settings = gather(parsed, options, NexoOptions, section="nexo", form=FORM)
    v, src = settings.values, settings.source
    api_key = v.api_key.get_secret_value() if v.api_key is not None else None
    if parsed.transport == "https" and not api_key:
        raise ConfigurationError(f"{src}: api_key is required for nexo+https")
    try:
        currency = find_currency(v.currency).code
    except UnknownCurrency as exc:
        raise ConfigurationError(f"{src}: {exc}") from None
    who = Identity(sale_id=v.sale_id, poiid=v.poi)
    secrets = _secrets(settings)
    verifier = None
    if secrets:
        verifier = TimestampedHmac(
            secrets, header=v.notify_header or DEFAULT_HEADER, tolerance=v.notify_window
        )
    ca_bundle = _ca_bundle(settings, parsed)
    where = f"{address(parsed)} terminal {who.poiid}"
    channel_secrets = tuple(s for s in (api_key, *secrets) if s)
    cloud = Cloud(
        base,
        parsed.path or "",
        api_key=api_key,
        timeouts=Timeouts(payment=v.timeout, query=v.status_timeout, connect=v.connect_timeout),
        attempts=v.attempts,
        backoff=v.backoff,
        transport=v.transport,
        ca_bundle=ca_bundle,
        transcript=Exchanges(lambda text: scrub_secrets(text, channel_secrets)),
    )
    nexo = NexoSettings(
        who=who,
        mode=v.mode,
        status_wait=v.status_wait,
        abort_wait=v.abort_wait,
        where=where,
        report_url=_report_url(settings, base),
    )
    reader = NotificationReader(who, verifier, currency=currency)
    return CloudPosChannel(cloud, nexo, reader, secrets=channel_secrets)
