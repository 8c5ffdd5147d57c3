"""Byte links opened from URLs, like pyserial's ``serial_for_url``.

``open_link("serial:///dev/ttyUSB0?baudrate=9600&bytesize=8&parity=N&stopbits=2")``,
``open_link("tcp://10.1.2.3:20007")`` and ``open_link("loop://")`` return an open
:class:`Link`; ``do_not_open=True`` returns it closed (drivers open one per dialogue). A
:class:`SpyLink` records any link's traffic to a masked transcript.
"""

from __future__ import annotations

from paychannels.links.base import Link, deadline_in
from paychannels.links.serial import FORM as SERIAL_FORM
from paychannels.links.serial import SerialLink, SerialSettings
from paychannels.links.spy import PassThrough, SpyLink, StreamFilter, Unit
from paychannels.links.tcp import TcpLink
from paychannels.links.transcript import Entry, Transcript, TranscriptWriter
from paychannels.values.errors import InvalidURL
from paychannels.values.urls import ParsedURL, parse_url

__all__ = [
    "Entry",
    "Link",
    "PassThrough",
    "SerialLink",
    "SerialSettings",
    "SpyLink",
    "StreamFilter",
    "TcpLink",
    "Transcript",
    "TranscriptWriter",
    "Unit",
    "deadline_in",
    "link_from_parsed",
    "open_link",
]

FORMS = f"{SERIAL_FORM}, tcp://host:port[?connect_timeout=5] or loop://"
_SERIAL_OPTIONS = {"baudrate", "bytesize", "parity", "stopbits"}


def serial_port(parsed: ParsedURL) -> str:
    """The device a ``serial://`` URL names: a path, or a bare name like ``COM3``."""
    if parsed.path and parsed.path != "/":
        return parsed.path
    netloc = parsed.raw.split("://", 1)[1].split("?", 1)[0].strip("/")
    if not netloc:
        raise InvalidURL(f"{parsed.raw!r} names no serial device; expected {SERIAL_FORM}")
    return netloc


def link_from_parsed(
    parsed: ParsedURL, *, transport: str, defaults: SerialSettings | None = None
) -> Link:
    """A closed link for a parsed URL whose transport is ``serial``, ``tcp`` or ``loop``.

    Channel factories use this with their own URL (``zvt+serial://...``) after taking their
    own options out; unknown options are refused here.
    """
    if transport == "tcp":
        parsed.check_options({"connect_timeout"}, "tcp://host:port[?connect_timeout=5]")
        host, port = parsed.require_host_port("tcp://host:port")
        return TcpLink(host, port, connect_timeout=parsed.float_option("connect_timeout", 5.0))
    if transport == "serial":
        parsed.check_options(_SERIAL_OPTIONS, SERIAL_FORM)
        settings = SerialSettings.from_query(parsed.raw, parsed.query, defaults or SerialSettings())
        return SerialLink(serial_port(parsed), settings)
    if transport == "loop":
        parsed.check_options(set(), "loop://")
        return SerialLink("loop://")
    raise InvalidURL(f"{parsed.raw!r}: no link for {transport!r}; expected {FORMS}")


def open_link(url: str, *, do_not_open: bool = False) -> Link:
    """Open the link a URL names (or only build it, with ``do_not_open``)."""
    parsed = parse_url(url, what="link URL", form=FORMS)
    link = link_from_parsed(parsed, transport=parsed.scheme)
    if not do_not_open:
        link.open()
    return link
