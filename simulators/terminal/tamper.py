"""Fault injection at the simulated terminal's frames: NAK the ECR's command, lose or corrupt ours.

The faults are bytes on the line: the terminal's framed transport (ZVT's serial line, a
MIS-POS profile's framing) reads and writes through a ``FaultLink`` that this policy drives;
the transport itself is the library's, unchanged. A command the script refuses arrives with
its checksum garbled, so the transport NAKs it by its own rules before the session has even
parsed it; the policy peeks at the script the command is going to get, and a command NAKed on
every transmission never reaches the session, so the policy uses its script up itself. An
answer of ours armed to be lost or corrupted leaves that way once (its resend goes through).
``FrameTamper`` holds what every framing shares; each protocol says how a command names its
booking and how a frame is corrupted.
"""

from __future__ import annotations

from collections.abc import Callable

from paychannels.drivers.framing import ACK, NAK, LineFraming
from paychannels.drivers.zvt.apdu import decode_apdu
from paychannels.drivers.zvt.commands import Authorization, Refund, Reversal, parse_command
from paychannels.drivers.zvt.errors import ZvtProtocolError
from paychannels.drivers.zvt.frames import ZVT_SERIAL
from paychannels.drivers.zvt.transport import Framing
from paychannels.links.base import Link
from paychannels.simulators.faultlink import FaultLink
from paychannels.simulators.terminal.core import SimTerminal

__all__ = ["FrameTamper", "SimTamper"]

TRANSMISSIONS = 3  # ZVT: one send and at most two resends (terminals.md §1)


class FrameTamper:
    """NAK faults on what arrives, a lost or corrupted first transmission of what leaves."""

    #: script faults that NAK every transmission of the command
    refusing: tuple[str, ...] = ("nak_always",)

    def __init__(
        self,
        terminal: SimTerminal,
        link: Link,
        framing: LineFraming,
        *,
        hears: Callable[[], bool] = lambda: True,
        ack: int = ACK,
        nak: int = NAK,
        transmissions: int = TRANSMISSIONS,
        acknowledged: bool = True,
    ) -> None:
        self.terminal = terminal
        self.framing = framing
        self.ack, self.nak, self.transmissions = ack, nak, transmissions
        self._naked: bytes | None = None
        self._naks = 0
        #: what the terminal's transport reads and writes through; refusals and a mis-set
        #: line (``hears`` False: no frame is understood) exist only where frames are ACKed
        self.link = FaultLink(
            link,
            ack=bytes([ack]),
            cutter=framing.decoder if acknowledged else None,
            refuse=self.refuses if acknowledged else None,
            hears=hears if acknowledged else None,
        )

    def booking_of(self, payload: bytes) -> tuple[str, int | None] | None:
        """(kind, amount) if the frame is a booking command (the script it will get)."""
        return None

    def corrupt(self, wire: bytes) -> bytes:
        """The frame with its checksum broken."""
        return wire[:-1] + bytes([wire[-1] ^ 0x5A])

    def arm(self, payload: bytes, *, drop: bool, corrupt: bool) -> None:
        """Lose or corrupt the first transmission of ``payload``."""
        wire = self.framing.encode(payload)
        if drop:
            self.link.lose_next(wire)
        elif corrupt:
            self.link.garble_next(wire, self.corrupt(wire))

    def refuses(self, payload: bytes) -> bool:
        """Whether the script NAKs this (valid) frame: then it arrives garbled."""
        booking = self.booking_of(payload)
        if booking is None:
            return False
        script = self.terminal.scripts.peek(*booking)
        if any(script.has(fault) for fault in self.refusing):
            self._naks = self._naks + 1 if payload == self._naked else 1
            self._naked = payload
            if self._naks >= self.transmissions:
                self.terminal.take(*booking)
                self.terminal.note("command NAKed on every transmission (nak_always)")
                self._naked, self._naks = None, 0
            return True
        if script.has("nak") and payload != self._naked:
            self._naked = payload
            return True
        self._naked, self._naks = None, 0
        return False


def booking_of(apdu: bytes) -> tuple[str, int | None] | None:
    """(kind, amount) if the APDU is a ZVT booking command."""
    try:
        command = parse_command(decode_apdu(apdu))
    except ZvtProtocolError:
        return None
    if isinstance(command, Authorization):
        return "payment", command.amount
    if isinstance(command, Refund):
        return "refund", command.amount
    if isinstance(command, Reversal):
        return "reversal", None
    return None


class SimTamper(FrameTamper):
    """The ZVT front's tamper: serial frames only (TCP faults are the session's own)."""

    def __init__(
        self,
        terminal: SimTerminal,
        link: Link,
        framing: Framing,
        *,
        hears: Callable[[], bool] = lambda: True,
    ) -> None:
        super().__init__(terminal, link, ZVT_SERIAL, hears=hears, acknowledged=framing == "serial")
        self.line = framing

    def booking_of(self, payload: bytes) -> tuple[str, int | None] | None:
        return booking_of(payload) if self.line == "serial" else None

    def corrupt(self, wire: bytes) -> bytes:
        return wire[:-2] + bytes([wire[-2] ^ 0x5A, wire[-1]])  # the CRC's low byte

    def arm(self, payload: bytes, *, drop: bool, corrupt: bool) -> None:
        if self.line == "serial":
            super().arm(payload, drop=drop, corrupt=corrupt)
