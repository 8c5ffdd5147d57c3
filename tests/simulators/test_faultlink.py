"""``FaultLink`` on a real pty: the driver's own serial transport refuses, loses and garbles
frames because the bytes on the line say so, never through a hook in the transport."""

from __future__ import annotations

import os
import select
import time
import tty
from collections.abc import Iterator

import pytest

from paychannels import LinkTimeout
from paychannels.drivers.zvt.errors import NoAcknowledgement
from paychannels.drivers.zvt.frames import ZVT_SERIAL, encode_frame
from paychannels.drivers.zvt.transport import SerialTransport
from paychannels.links import Link, deadline_in, open_link
from paychannels.simulators.faultlink import FaultLink

APDU = b"\x06\x01\x07\x04\x00\x00\x00\x00\x10\x00"  # an authorization, a DLE inside
OTHER = b"\x80\x00\x00"


class Line:
    """The peer's end of a pty (raw fd) and our transport over a FaultLink."""

    def __init__(self, master: int, link: Link) -> None:
        self.master = master
        self.refused: list[bytes] = []  # payloads the peer sends that arrive garbled
        self.hearing = True
        self.faults = FaultLink(
            link,
            cutter=ZVT_SERIAL.decoder,
            refuse=lambda payload: payload in self.refused,
            hears=lambda: self.hearing,
        )
        self.transport = SerialTransport(self.faults, t1=0.2, t2=0.3)

    def peer_reads(self, wait: float = 0.5) -> bytes:
        out = b""
        end = time.monotonic() + wait
        while time.monotonic() < end:
            if select.select([self.master], [], [], 0.05)[0]:
                out += os.read(self.master, 4096)
            elif out:
                break
        return out


@pytest.fixture
def line() -> Iterator[Line]:
    master, slave = os.openpty()
    tty.setraw(slave)
    ln = Line(master, open_link(f"serial://{os.ttyname(slave)}?baudrate=9600", do_not_open=True))
    ln.transport.open()
    yield ln
    ln.transport.close()
    os.close(master)
    os.close(slave)


@pytest.mark.slow
def test_a_refused_frame_is_naked_by_the_transport_and_never_delivered(line: Line) -> None:
    line.refused.append(APDU)
    os.write(line.master, encode_frame(APDU))
    with pytest.raises(LinkTimeout):
        line.transport.receive(deadline_in(0.3))
    assert line.peer_reads() == b"\x15"
    assert line.faults.garbled_in == 1 and line.transport.stats.bad_frames == 1
    os.write(line.master, encode_frame(OTHER))  # a frame not refused goes through
    assert line.transport.receive(deadline_in(1)) == OTHER
    assert line.peer_reads() == b"\x06"


@pytest.mark.slow
def test_a_line_that_does_not_hear_stays_silent(line: Line) -> None:
    line.hearing = False
    os.write(line.master, encode_frame(APDU))
    with pytest.raises(LinkTimeout):
        line.transport.receive(deadline_in(0.3))
    assert line.peer_reads(0.3) == b""
    assert line.faults.lost_in == len(encode_frame(APDU))


@pytest.mark.parametrize("lose", [True, False])
@pytest.mark.slow
def test_the_first_transmission_is_lost_or_garbled_and_the_resends_go_through(
    line: Line, lose: bool
) -> None:
    wire = encode_frame(APDU)
    garbled = wire[:-2] + bytes([wire[-2] ^ 0x5A, wire[-1]])
    if lose:
        line.faults.lose_next(wire)
    else:
        line.faults.garble_next(wire, garbled)
    with pytest.raises(NoAcknowledgement):  # the peer never answers: three transmissions
        line.transport.send(APDU)
    assert line.peer_reads() == (wire * 2 if lose else garbled + wire * 2)
    assert line.faults.garbled_out == 1
