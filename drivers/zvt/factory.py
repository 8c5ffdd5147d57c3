"""``zvt+tcp://host:20007`` and ``zvt+serial:///dev/ttyUSB0?baudrate=9600``: ZVT channels from URLs.

The entry point ``zvt`` of the ``paychannels.channels`` group. ZVT options (timers,
currency, charset, how receipts come) are taken out of the query; the rest must be the
link's (serial line settings, ``connect_timeout``). The terminal's password is a secret
and comes as a keyword argument, never in the URL; ``transcript=path`` records every
session to a masked transcript (for field bug reports).
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

from paychannels.drivers.terminal import LOCK_TIMEOUT, address, check_options, terminal_link
from paychannels.drivers.zvt.channel import TerminalChannel
from paychannels.drivers.zvt.client import ClientConfig, ZvtClient
from paychannels.drivers.zvt.dialogue import Timers
from paychannels.drivers.zvt.scrubbing import zvt_filters
from paychannels.drivers.zvt.transport import Framing
from paychannels.links import TranscriptWriter
from paychannels.security.masking import shown
from paychannels.values.currencies import currency as find_currency
from paychannels.values.errors import ConfigurationError, InvalidURL, UnknownCurrency
from paychannels.values.urls import ParsedURL, parse_url

__all__ = ["DEFAULT_PORT", "client_from_url", "from_url"]

DEFAULT_PORT = 20007
FORMS = (
    "zvt+tcp://host:20007?t3=5&t4=180&currency=CNY&charset=cp437&receipts=block or "
    "zvt+serial:///dev/ttyUSB0?baudrate=9600&bytesize=8&parity=N&stopbits=2&t1=0.2&t2=5"
)
_ZVT = {"t1", "t2", "t3", "t4", "currency", "charset", "receipts", "lock_timeout", "echo"}
_RECEIPTS = ("block", "lines", "terminal")


def parse_password(value: object) -> int:
    """The terminal password: up to six digits (``"000000"`` or 123456)."""
    text = str(value).strip()
    if not text.isdigit() or len(text) > 6:
        raise ConfigurationError("the ZVT password must be one to six digits")
    return int(text)


def client_from_url(
    url: str | ParsedURL,
    *,
    password: object = 0,
    transcript: str | Path | TranscriptWriter | None = None,
) -> tuple[ZvtClient, ParsedURL]:
    """A ZVT client (and the parsed URL) for ``zvt+tcp://...`` or ``zvt+serial://...``."""
    parsed = url if isinstance(url, ParsedURL) else parse_url(url, what="ZVT URL", form=FORMS)
    if parsed.kind != "zvt" or parsed.transport not in ("tcp", "serial"):
        raise InvalidURL(f"{parsed.raw!r} is not a ZVT terminal URL; expected {FORMS}")
    framing: Framing = "tcp" if parsed.transport == "tcp" else "serial"
    receipts = parsed.option("receipts", "block") or "block"
    if receipts not in _RECEIPTS:
        raise InvalidURL(
            f"{parsed.raw!r}: receipts={shown(receipts)} must be one of {', '.join(_RECEIPTS)}"
        )
    charset = parsed.option("charset", "cp437") or "cp437"
    try:
        codecs.lookup(charset)
    except LookupError:
        raise InvalidURL(
            f"{parsed.raw!r}: charset={shown(charset)} is not a known text encoding"
        ) from None
    try:
        cur = find_currency(parsed.option("currency", "CNY") or "CNY")
    except UnknownCurrency:
        raise InvalidURL(
            f"{parsed.raw!r}: currency={shown(parsed.option('currency'))} is not an ISO 4217 code"
        ) from None
    echo = parsed.option("echo", "off")
    if echo not in ("on", "off"):
        raise InvalidURL(f"{parsed.raw!r}: echo={shown(echo)} must be on or off")
    config = ClientConfig(
        password=parse_password(password),
        currency=cur.numeric,
        receipts=receipts,
        charset=charset,
        timers=Timers(parsed.float_option("t3", 5.0), parsed.float_option("t4", 180.0)),
        t1=parsed.float_option("t1", 0.2),
        t2=parsed.float_option("t2", 5.0),
        echo_last_receipt=echo == "on",
    )
    link = terminal_link(
        parsed,
        own=_ZVT,
        transport=framing,
        filters=zvt_filters(framing),
        transcript=transcript,
        port=DEFAULT_PORT if parsed.port is None and framing == "tcp" else None,
    )
    return ZvtClient(link, framing, config), parsed


def from_url(parsed: ParsedURL, **options: Any) -> TerminalChannel:
    """Entry point: ``open_channel("zvt+tcp://10.1.2.3:20007", password="000000")``."""
    check_options(options, {"password", "transcript"}, "ZVT")
    client, parsed = client_from_url(
        parsed, password=options.get("password", 0), transcript=options.get("transcript")
    )
    return TerminalChannel(
        client,
        currency=find_currency(parsed.option("currency", "CNY") or "CNY"),
        url=address(parsed),
        lock_timeout=parsed.float_option("lock_timeout", LOCK_TIMEOUT),
    )
