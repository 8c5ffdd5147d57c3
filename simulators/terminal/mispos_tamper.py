"""Fault injection at the simulated MIS-POS terminal: NAK requests, lose or corrupt answers.

Plugged into the shared framed transport as its ``Tamper``. NAK faults act before the
request is even parsed (framing answers first), so the tamper peeks at the script the
request is going to get; a request NAKed on every transmission never reaches the session,
so the tamper uses its script up itself.
"""

from __future__ import annotations

from collections.abc import Callable

from paychannels.drivers.mispos.codec import decode_request
from paychannels.drivers.mispos.errors import MisposFormatError
from paychannels.drivers.mispos.profile import Profile
from paychannels.simulators.terminal.core import SimTerminal

__all__ = ["KINDS", "MisposTamper"]

#: verb -> the kind of booking the terminal core makes of it
KINDS = {"sale": "payment", "refund": "refund", "void": "reversal"}


class MisposTamper:
    """The simulator's ``Tamper`` for MIS-POS; see the module docstring."""

    def __init__(
        self, terminal: SimTerminal, profile: Profile, *, hears: Callable[[], bool] = lambda: True
    ) -> None:
        self.terminal = terminal
        self.profile = profile
        self.hears = hears
        self._target: bytes | None = None
        self._drop = self._corrupt = False
        self._naked: bytes | None = None
        self._naks = 0

    def arm(self, body: bytes, *, drop: bool, corrupt: bool) -> None:
        """Lose or corrupt the first transmission of the answer ``body``."""
        if drop or corrupt:
            self._target, self._drop, self._corrupt = body, drop, corrupt

    def outgoing(self, payload: bytes, wire: bytes, attempt: int) -> bytes | None:
        if payload != self._target:
            return wire
        if attempt > 1:
            self._target = None
            return wire
        if self._drop:
            return None
        return wire[:-1] + bytes([wire[-1] ^ 0x5A])

    def _booking(self, payload: bytes) -> tuple[str, int | None] | None:
        try:
            verb, fields = decode_request(self.profile, payload)
        except MisposFormatError:
            return None
        kind = KINDS.get(verb.name)
        amount = fields.get("amount")
        return None if kind is None else (kind, int(amount) if amount else None)

    def answer(self, payload: bytes, valid: bool) -> int | None:
        f = self.profile.frame
        if not self.hears():
            return None
        if not valid:
            return f.nak
        booking = self._booking(payload)
        if booking is None:
            return f.ack
        script = self.terminal.scripts.peek(*booking)
        if script.has("nak_always") or script.has("refuse"):
            self._naks = self._naks + 1 if payload == self._naked else 1
            self._naked = payload
            if self._naks >= f.resends + 1:
                self.terminal.take(*booking)
                self.terminal.note("MIS-POS request NAKed on every transmission")
                self._naked, self._naks = None, 0
            return f.nak
        if script.has("nak") and payload != self._naked:
            self._naked = payload
            return f.nak
        self._naked, self._naks = None, 0
        return f.ack
