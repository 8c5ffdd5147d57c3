"""ZVT transports: APDUs in and out over a link, serial-framed or plain TCP.

Framing only (the dialogue's T3/T4 live in ``dialogue``). Serial (terminals.md §1): each
frame is answered at once with ACK or NAK; a sender resends after a NAK or when no answer
came within T2, at most twice; a receiver NAKs a frame with a wrong CRC or a gap longer
than T1 between its bytes — the shared ``AckedTransport`` with ZVT's frames. TCP: APDUs are
reassembled from however the stream was split. Both sides use the same classes (the
simulator is the terminal end); the simulator and the fault tests drop, corrupt or refuse
frames on the line, through a link that does so, never through a hook here.
"""

from __future__ import annotations

from typing import Literal

from paychannels.drivers.framing import (
    AckedTransport,
    LineStats,
    PlainTransport,
    Transport,
)
from paychannels.drivers.zvt.apdu import ZVT_TCP
from paychannels.drivers.zvt.frames import ZVT_SERIAL
from paychannels.links.base import Link

__all__ = ["LineStats", "SerialTransport", "TcpTransport", "Transport", "make_transport"]

Framing = Literal["serial", "tcp"]


class TcpTransport(PlainTransport):
    """Plain APDUs over TCP, reassembled from however the stream was split."""

    def __init__(self, link: Link) -> None:
        super().__init__(link, ZVT_TCP)

    def abandon(self) -> None:
        """T3 expired: close the socket (terminals.md §1)."""
        super().abandon()
        self.link.close()


class SerialTransport(AckedTransport):
    """DLE STX ... DLE ETX CRC frames with ACK/NAK, T1, T2 and at most two resends."""

    def __init__(
        self,
        link: Link,
        *,
        t1: float = 0.2,
        t2: float = 5.0,
        resends: int = 2,
        merge_acks: bool = False,
    ) -> None:
        super().__init__(link, ZVT_SERIAL, t1=t1, t2=t2, resends=resends, merge_acks=merge_acks)


def make_transport(
    link: Link,
    framing: Framing,
    *,
    t1: float = 0.2,
    t2: float = 5.0,
    merge_acks: bool = False,
) -> Transport:
    """A transport of the given framing over ``link``."""
    if framing == "serial":
        return SerialTransport(link, t1=t1, t2=t2, merge_acks=merge_acks)
    return TcpTransport(link)
