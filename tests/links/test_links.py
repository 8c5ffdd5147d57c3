"""Links from URLs on real endpoints: TCP on 127.0.0.1, a pty through pyserial, pyserial's loop://."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from paychannels import (
    InvalidURL,
    LinkClosed,
    LinkConnectError,
    LinkError,
    LinkTimeout,
    NotSentError,
)
from paychannels.links import SerialLink, TcpLink, deadline_in, open_link


@pytest.fixture
def echo_server() -> Iterator[tuple[str, int]]:
    """A TCP server on 127.0.0.1 that echoes, and closes when it reads b'bye'."""
    srv = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                srv.settimeout(0.2)
                conn, _ = srv.accept()
            except OSError:
                continue
            with conn:
                while (data := conn.recv(1024)) and data != b"bye":
                    conn.sendall(data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield srv.getsockname()[:2]
    stop.set()
    srv.close()
    thread.join(2)


def test_tcp_round_trip_counts_what_was_written(echo_server: tuple[str, int]) -> None:
    host, port = echo_server
    link = open_link(f"tcp://{host}:{port}")
    assert isinstance(link, TcpLink) and link.is_open and link.written == 0
    link.write(b"\x06\x01\x00")
    assert link.written == 3
    assert link.read_exactly(3, deadline=deadline_in(2)) == b"\x06\x01\x00"
    link.close()
    link.close()  # closing twice is fine
    assert not link.is_open


@pytest.mark.slow
def test_read_waits_until_the_deadline_and_no_longer(echo_server: tuple[str, int]) -> None:
    host, port = echo_server
    with open_link(f"tcp://{host}:{port}") as link:
        start = time.monotonic()
        with pytest.raises(LinkTimeout):
            link.read(10, deadline=deadline_in(0.3))
        assert 0.25 <= time.monotonic() - start < 1.5
        link.write(b"ab")
        with pytest.raises(LinkTimeout, match="2 of 5 bytes"):
            link.read_exactly(5, deadline=deadline_in(0.3))


def test_peer_closing_is_link_closed(echo_server: tuple[str, int]) -> None:
    host, port = echo_server
    link = open_link(f"tcp://{host}:{port}")
    link.write(b"bye")
    with pytest.raises(LinkClosed):
        link.read(1, deadline=deadline_in(2))
    assert not link.is_open
    with pytest.raises(LinkClosed):
        link.write(b"x")


def test_refused_connect_is_provably_not_sent() -> None:
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(LinkConnectError, match="refused") as info:
        open_link(f"tcp://127.0.0.1:{port}")
    assert isinstance(info.value, NotSentError) and isinstance(info.value, LinkError)


def test_serial_through_a_pty(pty_pair: tuple[int, str]) -> None:
    master, path = pty_pair
    link = open_link(f"serial://{path}?baudrate=9600&bytesize=8&parity=N&stopbits=2")
    assert isinstance(link, SerialLink) and "9600" in link.url
    link.write(b"\x10\x02\x05\x01\x00\x10\x03\x10\x06")
    assert os.read(master, 64) == b"\x10\x02\x05\x01\x00\x10\x03\x10\x06"
    os.write(master, b"\x06")
    assert link.read(8, deadline=deadline_in(1)) == b"\x06"
    with pytest.raises(LinkTimeout):
        link.read(1, deadline=deadline_in(0.1))
    os.write(master, b"stale")
    time.sleep(0.05)
    assert link.drain() == b"stale"
    link.close()


def test_missing_serial_port_is_provably_not_sent() -> None:
    with pytest.raises(LinkConnectError, match="no such device") as info:
        open_link("serial:///dev/ttyDOESNOTEXIST?baudrate=9600")
    assert isinstance(info.value, NotSentError)


def test_loopback() -> None:
    with open_link("loop://") as link:
        link.write(b"ping")
        assert link.read_exactly(4, deadline=deadline_in(1)) == b"ping"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("serial:///dev/ttyS0?baudrate=9601", "baudrate='9601' must be one of"),
        ("serial:///dev/ttyS0?parity=X", "parity='X'"),
        ("serial:///dev/ttyS0?stopbits=3", "stopbits"),
        ("serial:///dev/ttyS0?speed=9600", "unknown option"),
        ("tcp://127.0.0.1", "names no port"),
        ("tcp://127.0.0.1:20007?password=1", "must not carry the secret"),
        ("ftp://host:21", "no link for 'ftp'"),
        ("serial://", "names no serial device"),
        ("/dev/ttyUSB0", "expected"),
    ],
)
def test_bad_urls_name_the_expected_form(url: str, message: str) -> None:
    with pytest.raises(InvalidURL, match=message):
        open_link(url, do_not_open=True)


def test_do_not_open_and_bare_serial_names() -> None:
    link = open_link("serial://COM3?baudrate=115200", do_not_open=True)
    assert isinstance(link, SerialLink) and link.port == "COM3" and not link.is_open
    assert link.settings.describe() == "115200 8N2"


def test_an_ip_address_is_not_looked_up_on_every_open(
    echo_server: tuple[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ZVT terminal is dialled once a payment: a literal address needs no resolver call
    (getaddrinfo cost a payment some 2 % of the library's CPU); a name still resolves."""
    host, port = echo_server
    link = TcpLink(host, port)

    def no_lookup(*args: object, **kwargs: object) -> None:
        raise AssertionError("getaddrinfo called for an IP address")

    monkeypatch.setattr(socket, "getaddrinfo", no_lookup)
    for _ in range(2):
        link.open()
        link.write(b"ab")
        assert link.read_exactly(2, deadline=deadline_in(2)) == b"ab"
        link.close()
    monkeypatch.undo()
    with TcpLink("localhost", port) as named:
        named.write(b"cd")
        assert named.read_exactly(2, deadline=deadline_in(2)) == b"cd"


def test_a_refused_ip_address_is_provably_not_sent() -> None:
    """The literal-address path maps a refused connect as the resolver path does."""
    with socket.create_server(("127.0.0.1", 0)) as srv:
        port = srv.getsockname()[1]
    link = TcpLink("127.0.0.1", port, connect_timeout=2)
    with pytest.raises(LinkConnectError, match="refused"):
        link.open()
    assert not link.is_open


def test_a_tcp_drain_takes_what_waits_without_a_timeout_per_call(
    echo_server: tuple[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each ZVT command drains the link first (once a payment): a socket says at once that
    nothing waits, so no ``LinkTimeout`` is built and thrown away for it."""
    import paychannels.links.tcp as tcp

    made: list[str] = []

    class Counted(LinkTimeout):
        def __init__(self, *args: object) -> None:
            made.append(str(args))
            super().__init__(*args)

    monkeypatch.setattr(tcp, "LinkTimeout", Counted)
    host, port = echo_server
    with TcpLink(host, port) as link:
        assert link.drain() == b""
        assert made == []
        link.write(b"stale")
        deadline = deadline_in(2)
        got = b""
        while len(got) < 5 and time.monotonic() < deadline:
            got += link.drain(limit=3)  # at most ``limit`` at once
            assert len(got) <= 5
        assert got == b"stale"
        link.write(b"bye")  # the server closes: a drain says so, as a read does

        def drain_until_closed() -> None:
            while time.monotonic() < deadline:
                link.drain()

        with pytest.raises(LinkClosed):
            drain_until_closed()
        assert not link.is_open
