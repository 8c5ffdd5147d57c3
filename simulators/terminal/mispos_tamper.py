"""Fault injection at the simulated MIS-POS terminal: the shared frame tamper, told how a
profile's request names its booking."""

from __future__ import annotations

from collections.abc import Callable

from paychannels.drivers.mispos.codec import decode_request
from paychannels.drivers.mispos.errors import MisposFormatError
from paychannels.drivers.mispos.frame import MisposFraming
from paychannels.drivers.mispos.profile import Profile
from paychannels.links.base import Link
from paychannels.simulators.terminal.core import SimTerminal
from paychannels.simulators.terminal.tamper import FrameTamper

__all__ = ["KINDS", "MisposTamper"]

#: verb -> the kind of booking the terminal core makes of it
KINDS = {"sale": "payment", "refund": "refund", "void": "reversal"}


class MisposTamper(FrameTamper):
    """NAKs and lost or corrupted answers for one profile's framing ("refuse" is NAKs here:
    a MIS-POS terminal has no refusal message of its own)."""

    refusing = ("nak_always", "refuse")

    def __init__(
        self,
        terminal: SimTerminal,
        link: Link,
        profile: Profile,
        *,
        hears: Callable[[], bool] = lambda: True,
    ) -> None:
        f = profile.frame
        super().__init__(
            terminal,
            link,
            MisposFraming(f),
            hears=hears,
            ack=f.ack,
            nak=f.nak,
            transmissions=f.resends + 1,
            acknowledged=f.acknowledge,
        )
        self.profile = profile

    def booking_of(self, payload: bytes) -> tuple[str, int | None] | None:
        try:
            verb, fields = decode_request(self.profile, payload)
        except MisposFormatError:
            return None
        kind = KINDS.get(verb.name)
        amount = fields.get("amount")
        return None if kind is None else (kind, int(amount) if amount else None)
