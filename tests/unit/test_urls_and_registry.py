"""Channel URLs open through one parser and an entry-point registry, like serial_for_url."""

from __future__ import annotations

import pytest

from paychannels import (
    InvalidURL,
    MemoryChannel,
    UnknownScheme,
    available_schemes,
    open_channel,
    register_channel,
)
from paychannels.channels.memory import Behaviour
from paychannels.values.urls import parse_url


def test_parse_kind_transport_host_port_options() -> None:
    u = parse_url("zvt+tcp://10.1.2.3:20007?t3=5")
    assert (u.kind, u.transport, u.host, u.port, u.query) == (
        "zvt",
        "tcp",
        "10.1.2.3",
        20007,
        {"t3": "5"},
    )
    s = parse_url("zvt+serial:///dev/ttyUSB0?baudrate=9600&stopbits=2")
    assert (s.path, s.int_option("baudrate", 0)) == ("/dev/ttyUSB0", 9600)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ttyUSB0", "expected"),
        ("zvt+tcp://host:notaport", "not a valid"),
        ("nexo+https://api:secret@host/path", "password"),
        ("zvt+tcp://SECRET@host:20007", "user name"),
        ("nexo+https://host/path?api_key=abc", "secret 'api_key'"),
        ("1zvt://x", "not a valid scheme"),
    ],
)
def test_malformed_urls_say_what_is_expected(url: str, message: str) -> None:
    with pytest.raises(InvalidURL, match=message):
        parse_url(url)


def test_int_option_errors_name_the_option() -> None:
    with pytest.raises(InvalidURL, match="baudrate"):
        parse_url("serial:///dev/x?baudrate=fast").int_option("baudrate", 9600)


def test_memory_scheme_comes_from_entry_points() -> None:
    assert "memory" in available_schemes()
    ch = open_channel("memory://?default=decline")
    assert isinstance(ch, MemoryChannel) and ch.default is Behaviour.DECLINE


def test_unknown_scheme_lists_known_ones() -> None:
    with pytest.raises(UnknownScheme, match=r"known schemes: .*memory"):
        open_channel("carrier-pigeon://roof")


def test_memory_url_options_are_checked() -> None:
    with pytest.raises(InvalidURL, match="unknown option"):
        open_channel("memory://?colour=red")
    with pytest.raises(InvalidURL, match="default='maybe'"):
        open_channel("memory://?default=maybe")


def test_register_a_scheme_without_touching_the_core() -> None:
    register_channel("test-echo", lambda parsed, **kw: MemoryChannel(name=parsed.host or "x"))
    ch = open_channel("test-echo://hall-9")
    assert isinstance(ch, MemoryChannel) and ch.name == "hall-9"
    register_channel("kind+special", lambda parsed, **kw: MemoryChannel(name="special"))
    assert open_channel("kind+special://x").name == "special"  # type: ignore[attr-defined]


def test_http_base_refuses_plain_http_off_the_loopback() -> None:
    from paychannels.values.urls import http_base

    form = "x+https://host"
    assert http_base(parse_url("x+https://api.example.com:8443/p?q=1"), form) == (
        "https://api.example.com:8443"
    )
    assert http_base(parse_url("x+http://127.0.0.1:9000/"), form) == "http://127.0.0.1:9000"
    assert http_base(parse_url("x+http://[::1]:9000/"), form) == "http://[::1]:9000"
    with pytest.raises(InvalidURL, match="loopback"):
        http_base(parse_url("x+http://api.example.com"), form)
    with pytest.raises(InvalidURL, match="x\\+https"):
        http_base(parse_url("x+tcp://api.example.com"), form)
    with pytest.raises(InvalidURL, match="names no host"):
        http_base(parse_url("x+https:///path"), form)
