"""``nexo+https://host/path?poi=TERMINAL_ID``: a cloud terminal channel from a URL.

The entry point ``nexo`` of the ``paychannels.channels`` group. The URL says where the
cloud is and which terminal (``poi``); requests go to ``<path>/sync`` and ``<path>/async``
(Adyen: ``https://terminal-api-test.adyen.com`` or, for its Cloud device API,
``https://device-api-test.adyen.com/v1/merchants/{account}/devices/{device}``). Plain
``nexo+http`` is only for a simulator on the loopback interface. Secrets — the API key and
the notification secrets — come as keyword arguments or from a config file
(``config="/etc/paychannels/nexo.toml"``), never from the URL.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from paychannels.currencies import currency as find_currency
from paychannels.drivers.nexo.build import Identity
from paychannels.drivers.nexo.channel import CloudPosChannel, NexoSettings, scrub_secrets
from paychannels.drivers.nexo.cloud import Cloud, Exchanges, Timeouts
from paychannels.drivers.nexo.notifications import DEFAULT_HEADER, NotificationReader
from paychannels.drivers.terminal import address
from paychannels.errors import ConfigurationError, UnknownCurrency
from paychannels.masking import shown
from paychannels.providers.options import Settings, gather
from paychannels.urls import ParsedURL, http_base
from paychannels.webhooks import TimestampedHmac

__all__ = ["FORM", "from_url"]

FORM = (
    "nexo+https://host/path?poi=TERMINAL_ID[&mode=sync|async&sale_id=...&timeout=180"
    "&status_timeout=30&status_wait=150&abort_wait=10&currency=CNY]"
)
_URL = {"poi", "mode", "sale_id", "timeout", "status_timeout", "connect_timeout"}
_URL |= {"status_wait", "abort_wait", "currency", "notify_header", "notify_window"}
_OPTIONS = {"api_key", "notify_secret", "transport", "attempts", "backoff", "report_url"}
_IDENT = re.compile(r"^[\x21-\x7e]{1,64}$")


def _ident(value: str | None, name: str, source: str) -> str:
    if not value or not _IDENT.match(value):
        raise ConfigurationError(f"{source}: {name} must be 1-64 visible characters")
    return value


def _secrets(settings: Settings) -> list[str]:
    raw = settings.values.get("notify_secret")
    items = raw if isinstance(raw, list | tuple) else [raw] if raw else []
    if not all(isinstance(s, str) and len(s) >= 16 for s in items):
        raise ConfigurationError(f"{settings.source}: notify_secret must be text of 16+ characters")
    return list(items)


def _report_url(settings: Settings, base: str) -> str:
    """Where daily settlement reports are: HTTPS, or on the (loopback) cloud's own origin."""
    url = settings.text("report_url", "") or ""
    if url and not url.startswith(("https://", base + "/")):
        raise ConfigurationError(
            f"{settings.source}: report_url must be https://... (or on {base} for a simulator)"
        )
    return url


def from_url(parsed: ParsedURL, **options: Any) -> CloudPosChannel:
    """Entry point: ``open_channel("nexo+https://...?poi=P400Plus-1", api_key=...)``."""
    base = http_base(parsed, FORM)
    settings = gather(
        parsed, options, url_names=_URL, option_names=_OPTIONS, section="nexo", form=FORM
    )
    src = settings.source
    api_key = settings.text("api_key")
    if parsed.transport == "https" and not api_key:
        raise ConfigurationError(f"{src}: api_key is required for nexo+https")
    mode = settings.text("mode", "sync")
    if mode not in ("sync", "async"):
        raise ConfigurationError(f"{src}: mode must be sync or async, not {shown(mode)}")
    try:
        currency = find_currency(settings.text("currency", "CNY") or "CNY").code
    except UnknownCurrency as exc:
        raise ConfigurationError(f"{src}: {exc}") from None
    who = Identity(
        sale_id=_ident(settings.text("sale_id", "paychannels"), "sale_id", src),
        poiid=_ident(settings.text("poi"), "poi (the terminal's POIID)", src),
    )
    secrets = _secrets(settings)
    verifier = None
    if secrets:
        verifier = TimestampedHmac(
            secrets,
            header=settings.text("notify_header", DEFAULT_HEADER) or DEFAULT_HEADER,
            tolerance=settings.number("notify_window", 300.0),
        )
    where = f"{address(parsed)} terminal {who.poiid}"
    channel_secrets = tuple(s for s in (api_key, *secrets) if s)
    transport: httpx.BaseTransport | None = settings.values.get("transport")
    cloud = Cloud(
        base,
        parsed.path or "",
        api_key=api_key,
        timeouts=Timeouts(
            payment=settings.number("timeout", 180.0),
            query=settings.number("status_timeout", 30.0),
            connect=settings.number("connect_timeout", 5.0),
        ),
        attempts=int(settings.number("attempts", 3)),
        backoff=settings.number("backoff", 0.2),
        transport=transport,
        transcript=Exchanges(lambda text: scrub_secrets(text, channel_secrets)),
    )
    nexo = NexoSettings(
        who=who,
        mode=mode,
        status_wait=settings.number("status_wait", 150.0),
        abort_wait=settings.number("abort_wait", 10.0),
        where=where,
        report_url=_report_url(settings, base),
    )
    reader = NotificationReader(who, verifier, currency=currency)
    return CloudPosChannel(cloud, nexo, reader, secrets=channel_secrets)
