"""Fault injection at the simulated terminal's frames: NAK the ECR's command, lose or corrupt ours.

Plugged into the driver's transport as its ``Tamper``. NAK faults must act before the
session has even parsed the command (framing answers first), so the tamper peeks at the
script the command is going to get; a command NAKed on every transmission never reaches
the session, so the tamper uses its script up itself.
"""

from __future__ import annotations

from collections.abc import Callable

from paychannels.drivers.zvt.apdu import decode_apdu
from paychannels.drivers.zvt.commands import Authorization, Refund, Reversal, parse_command
from paychannels.drivers.zvt.errors import ZvtProtocolError
from paychannels.drivers.zvt.frames import ACK, NAK
from paychannels.drivers.zvt.transport import Framing
from paychannels.simulators.terminal.core import SimTerminal

__all__ = ["SimTamper"]

TRANSMISSIONS = 3  # one send and at most two resends (terminals.md §1)


def booking_of(apdu: bytes) -> tuple[str, int | None] | None:
    """(kind, amount) if the APDU is a booking command."""
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


class SimTamper:
    """The simulator's ``Tamper``; see the module docstring."""

    def __init__(
        self, terminal: SimTerminal, framing: Framing, *, hears: Callable[[], bool] = lambda: True
    ) -> None:
        self.terminal = terminal
        self.framing = framing
        self.hears = hears  # False: the line is off or mis-set, so no frame is understood
        self._target: bytes | None = None
        self._drop = self._corrupt = False
        self._naked: bytes | None = None
        self._naks = 0

    def arm(self, apdu: bytes, *, drop: bool, corrupt: bool) -> None:
        """Lose or corrupt the first transmission of ``apdu`` (serial; TCP handles its own)."""
        if self.framing == "serial" and (drop or corrupt):
            self._target, self._drop, self._corrupt = apdu, drop, corrupt

    def outgoing(self, apdu: bytes, wire: bytes, attempt: int) -> bytes | None:
        if apdu != self._target:
            return wire
        if attempt > 1:
            self._target = None
            return wire
        if self._drop:
            return None
        return wire[:-2] + bytes([wire[-2] ^ 0x5A, wire[-1]])

    def answer(self, apdu: bytes, valid: bool) -> int | None:
        if not self.hears():
            return None
        if not valid:
            return NAK
        booking = booking_of(apdu) if self.framing == "serial" else None
        if booking is None:
            return ACK
        script = self.terminal.scripts.peek(*booking)
        if script.has("nak_always"):
            self._naks = self._naks + 1 if apdu == self._naked else 1
            self._naked = apdu
            if self._naks >= TRANSMISSIONS:
                self.terminal.take(*booking)
                self.terminal.note("command NAKed on every transmission (nak_always)")
                self._naked, self._naks = None, 0
            return NAK
        if script.has("nak") and apdu != self._naked:
            self._naked = apdu
            return NAK
        self._naked, self._naks = None, 0
        return ACK
