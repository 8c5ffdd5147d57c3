"""Fault injection at the simulated terminal's frames: NAK the ECR's command, lose or corrupt ours.

Plugged into a driver's framed transport as its ``Tamper`` (ZVT's serial line, a MIS-POS
profile's framing). NAK faults must act before the session has even parsed the command
(framing answers first), so the tamper peeks at the script the command is going to get; a
command NAKed on every transmission never reaches the session, so the tamper uses its script
up itself. ``FrameTamper`` holds what every framing shares; each protocol says how a command
names its booking and how a frame is corrupted.
"""

from __future__ import annotations

from collections.abc import Callable

from paychannels.drivers.framing import ACK, NAK
from paychannels.drivers.zvt.apdu import decode_apdu
from paychannels.drivers.zvt.commands import Authorization, Refund, Reversal, parse_command
from paychannels.drivers.zvt.errors import ZvtProtocolError
from paychannels.drivers.zvt.transport import Framing
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
        *,
        hears: Callable[[], bool] = lambda: True,
        ack: int = ACK,
        nak: int = NAK,
        transmissions: int = TRANSMISSIONS,
    ) -> None:
        self.terminal = terminal
        self.hears = hears  # False: the line is off or mis-set, so no frame is understood
        self.ack, self.nak, self.transmissions = ack, nak, transmissions
        self._target: bytes | None = None
        self._drop = self._corrupt = False
        self._naked: bytes | None = None
        self._naks = 0

    def booking_of(self, payload: bytes) -> tuple[str, int | None] | None:
        """(kind, amount) if the frame is a booking command (the script it will get)."""
        return None

    def corrupt(self, wire: bytes) -> bytes:
        """The frame with its checksum broken."""
        return wire[:-1] + bytes([wire[-1] ^ 0x5A])

    def arm(self, payload: bytes, *, drop: bool, corrupt: bool) -> None:
        """Lose or corrupt the first transmission of ``payload``."""
        if drop or corrupt:
            self._target, self._drop, self._corrupt = payload, drop, corrupt

    def outgoing(self, payload: bytes, wire: bytes, attempt: int) -> bytes | None:
        if payload != self._target:
            return wire
        if attempt > 1:
            self._target = None
            return wire
        return None if self._drop else self.corrupt(wire)

    def answer(self, payload: bytes, valid: bool) -> int | None:
        if not self.hears():
            return None
        if not valid:
            return self.nak
        booking = self.booking_of(payload)
        if booking is None:
            return self.ack
        script = self.terminal.scripts.peek(*booking)
        if any(script.has(fault) for fault in self.refusing):
            self._naks = self._naks + 1 if payload == self._naked else 1
            self._naked = payload
            if self._naks >= self.transmissions:
                self.terminal.take(*booking)
                self.terminal.note("command NAKed on every transmission (nak_always)")
                self._naked, self._naks = None, 0
            return self.nak
        if script.has("nak") and payload != self._naked:
            self._naked = payload
            return self.nak
        self._naked, self._naks = None, 0
        return self.ack


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
        self, terminal: SimTerminal, framing: Framing, *, hears: Callable[[], bool] = lambda: True
    ) -> None:
        super().__init__(terminal, hears=hears)
        self.framing = framing

    def booking_of(self, payload: bytes) -> tuple[str, int | None] | None:
        return booking_of(payload) if self.framing == "serial" else None

    def corrupt(self, wire: bytes) -> bytes:
        return wire[:-2] + bytes([wire[-2] ^ 0x5A, wire[-1]])  # the CRC's low byte

    def arm(self, payload: bytes, *, drop: bool, corrupt: bool) -> None:
        if self.framing == "serial":
            super().arm(payload, drop=drop, corrupt=corrupt)
