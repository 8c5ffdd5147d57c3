"""``mispos+serial:///dev/ttyS0?profile=tlv-9f`` and ``mispos+tcp://host:port?profile=...``.

The entry point ``mispos`` of the ``paychannels.channels`` group. ``profile`` names a
shipped profile or a profile file (a path ending in ``.toml``); the serial line defaults to
the profile's settings and may be overridden in the URL (``baudrate=...``); other options
are the channel's (``answer_timeout``, ``lock_timeout``). ``transcript=path`` records every
session, card numbers masked, for field bug reports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from paychannels.drivers.mispos.channel import MisposChannel
from paychannels.drivers.mispos.client import MisposClient
from paychannels.drivers.mispos.profile import Profile
from paychannels.drivers.mispos.profile_checks import load
from paychannels.drivers.mispos.scrubbing import mispos_filters
from paychannels.drivers.terminal import LOCK_TIMEOUT, address, check_options, terminal_link
from paychannels.links import SerialSettings, TranscriptWriter
from paychannels.values.currencies import currency as find_currency
from paychannels.values.errors import InvalidURL
from paychannels.values.urls import ParsedURL, parse_url

__all__ = ["FORMS", "client_from_url", "from_url"]

FORMS = (
    "mispos+serial:///dev/ttyUSB0?profile=tlv-9f[&baudrate=9600&answer_timeout=60] or "
    "mispos+tcp://host:port?profile=./bank.toml"
)
_OWN = {"profile", "answer_timeout", "lock_timeout"}


def client_from_url(
    url: str | ParsedURL,
    *,
    profile: Profile | None = None,
    transcript: str | Path | TranscriptWriter | None = None,
) -> tuple[MisposClient, ParsedURL]:
    """A MIS-POS client (and the parsed URL) for ``mispos+serial://`` or ``mispos+tcp://``."""
    parsed = url if isinstance(url, ParsedURL) else parse_url(url, what="MIS-POS URL", form=FORMS)
    if parsed.kind != "mispos" or parsed.transport not in ("serial", "tcp"):
        raise InvalidURL(f"{parsed.raw!r} is not a MIS-POS terminal URL; expected {FORMS}")
    if profile is None:
        name = parsed.option("profile")
        if not name:
            raise InvalidURL(f"{parsed.raw!r} names no profile; expected {FORMS}")
        profile = load(name)
    line = profile.line
    link = terminal_link(
        parsed,
        own=_OWN,
        transport=parsed.transport,
        filters=mispos_filters(profile),
        transcript=transcript,
        defaults=SerialSettings(line.baudrate, line.bytesize, line.parity, line.stopbits),
    )
    answer = parsed.float_option("answer_timeout", profile.answer_timeout)
    return MisposClient(link, profile, answer_timeout=answer), parsed


def from_url(parsed: ParsedURL, **options: Any) -> MisposChannel:
    """Entry point: ``open_channel("mispos+serial:///dev/ttyS0?profile=tlv-9f")``."""
    check_options(options, {"transcript", "profile"}, "MIS-POS")
    client, parsed = client_from_url(
        parsed, profile=options.get("profile"), transcript=options.get("transcript")
    )
    return MisposChannel(
        client,
        currency=find_currency(client.profile.currency),
        url=address(parsed),
        lock_timeout=parsed.float_option("lock_timeout", LOCK_TIMEOUT),
    )
