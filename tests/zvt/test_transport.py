"""Serial framing on a real pty with a hand-driven peer: ACK/NAK, T1, T2 and at most two resends."""

from __future__ import annotations

import os
import select
import time
import tty
from collections.abc import Iterator

import pytest

from paychannels import LinkTimeout, NotSentError
from paychannels.drivers.zvt.errors import FrameRejected, NoAcknowledgement
from paychannels.drivers.zvt.frames import encode_frame
from paychannels.drivers.zvt.transport import SerialTransport, TcpTransport
from paychannels.links import deadline_in, open_link

APDU = b"\x04\x0f\x03\x27\x00\x10"  # with a DLE inside


@pytest.fixture
def line() -> Iterator[tuple[int, SerialTransport]]:
    master, slave = os.openpty()
    tty.setraw(slave)
    link = open_link(f"serial://{os.ttyname(slave)}?baudrate=9600", do_not_open=True)
    transport = SerialTransport(link, t1=0.2, t2=0.3)
    transport.open()
    yield master, transport
    transport.close()
    os.close(master)
    os.close(slave)


def read_peer(master: int, wait: float = 0.5) -> bytes:
    out = b""
    end = time.monotonic() + wait
    while time.monotonic() < end:
        if select.select([master], [], [], 0.05)[0]:
            out += os.read(master, 4096)
        elif out:
            break
    return out


@pytest.mark.slow
def test_a_wrong_crc_is_answered_nak_and_the_resend_is_taken(
    line: tuple[int, SerialTransport],
) -> None:
    master, transport = line
    good = encode_frame(APDU)
    os.write(master, good[:-1] + bytes([good[-1] ^ 0xFF]))
    with pytest.raises(LinkTimeout):
        transport.receive(deadline_in(0.3))
    assert read_peer(master) == b"\x15"
    os.write(master, good)
    assert transport.receive(deadline_in(1)) == APDU
    assert read_peer(master) == b"\x06"
    assert transport.stats.bad_frames == 1 and transport.stats.frames == 1


@pytest.mark.slow
def test_a_gap_longer_than_t1_inside_a_frame_is_answered_nak(
    line: tuple[int, SerialTransport],
) -> None:
    master, transport = line
    frame = encode_frame(APDU)
    os.write(master, frame[:5])
    with pytest.raises(LinkTimeout):
        transport.receive(deadline_in(0.6))  # T1 (0.2 s) runs out first
    assert read_peer(master) == b"\x15"
    os.write(master, frame)
    assert transport.receive(deadline_in(1)) == APDU


@pytest.mark.slow
def test_naks_are_resent_at_most_twice(line: tuple[int, SerialTransport]) -> None:
    master, transport = line
    frame = encode_frame(APDU)

    def peer(answers: list[bytes]) -> list[bytes]:
        seen = []
        for answer in answers:
            seen.append(read_peer(master))
            os.write(master, answer)
        return seen

    import threading

    result: list[list[bytes]] = []
    t = threading.Thread(target=lambda: result.append(peer([b"\x15", b"\x15", b"\x06"])))
    t.start()
    transport.send(APDU)
    t.join()
    assert result[0] == [frame, frame, frame]

    t = threading.Thread(target=lambda: result.append(peer([b"\x15"] * 3)))
    t.start()
    with pytest.raises(FrameRejected) as info:
        transport.send(APDU)
    t.join()
    assert isinstance(info.value, NotSentError), "refused three times: provably not taken"


@pytest.mark.slow
def test_silence_after_three_transmissions_is_unknown(line: tuple[int, SerialTransport]) -> None:
    master, transport = line
    start = time.monotonic()
    with pytest.raises(NoAcknowledgement) as info:
        transport.send(APDU)
    assert not isinstance(info.value, NotSentError), "it may have arrived"
    assert 0.85 <= time.monotonic() - start < 2  # three times T2
    assert read_peer(master) == encode_frame(APDU) * 3


def test_tcp_transport_reassembles_and_ignores_nothing() -> None:
    import socket

    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    transport = TcpTransport(open_link(f"tcp://127.0.0.1:{port}", do_not_open=True))
    transport.open()
    peer, _ = server.accept()
    peer.sendall(b"\x80\x00\x00\x04\xff\x01")
    assert transport.receive(deadline_in(1)) == b"\x80\x00\x00"
    with pytest.raises(LinkTimeout):
        transport.receive(deadline_in(0.2))  # half an APDU is not an APDU
    peer.sendall(b"\x0a")
    assert transport.receive(deadline_in(1)) == b"\x04\xff\x01\x0a"
    transport.abandon()  # T3: the socket is closed
    assert not transport.link.is_open
    peer.close()
    server.close()
