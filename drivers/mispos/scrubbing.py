"""Masking MIS-POS traffic for transcripts: card numbers never reach a file.

The spy's filter cuts each direction into frames with the profile's framing and masks, in
place, every run of 13 to 19 ASCII digits in a body (a card number; the first six and last
four kept, the rest ``*``), then frames the body again (a fresh LRC; a frame that came with
a wrong one keeps a wrong one), so a transcript still parses and replays. ACK and NAK are
named; noise is masked wholesale.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from paychannels.drivers.framing import Control, Frame
from paychannels.drivers.mispos.errors import MisposFormatError
from paychannels.drivers.mispos.frame import MisposFraming
from paychannels.drivers.mispos.profile import Profile
from paychannels.links.spy import StreamFilter, Unit

__all__ = ["MisposFilter", "mask_digits", "mispos_filters"]

_RUN = re.compile(rb"(?<![0-9])[0-9]{13,19}(?![0-9])")


def mask_digits(data: bytes) -> bytes:
    """Every 13-19 digit run with its middle starred (lengths kept)."""
    return _RUN.sub(
        lambda m: m.group(0)[:6] + b"*" * (len(m.group(0)) - 10) + m.group(0)[-4:], data
    )


class MisposFilter:
    """A ``StreamFilter`` for one direction of a profile's traffic."""

    def __init__(self, profile: Profile) -> None:
        self.framing = MisposFraming(profile.frame)
        self.profile = profile
        self._decoder = self.framing.decoder()

    def feed(self, data: bytes) -> list[Unit]:
        units: list[Unit] = []
        for event in self._decoder.feed(data):
            if isinstance(event, Frame):
                units.append(self._frame(event))
            elif isinstance(event, Control):
                name = "ACK" if event.byte == self.profile.frame.ack else "NAK"
                units.append(Unit(event.raw, name))
            else:
                units.append(Unit(mask_digits(event.raw), "noise"))
        return units

    def _frame(self, frame: Frame) -> Unit:
        if not frame.valid:
            return Unit(mask_digits(frame.raw), f"bad frame: {frame.problem}")
        masked = mask_digits(frame.payload)
        try:
            wire = self.framing.encode(masked)
        except MisposFormatError:  # "*" for digits cannot add an ETX; never let the spy fail
            wire = mask_digits(frame.raw)
        return Unit(wire, f"frame of {len(frame.payload)} bytes")

    def flush(self) -> list[Unit]:
        partial = self._decoder.reset()
        return [Unit(mask_digits(partial.raw), "incomplete frame")] if partial else []


def mispos_filters(profile: Profile) -> Callable[[], StreamFilter]:
    """The filter factory a ``SpyLink`` takes for a profile's traffic."""
    return lambda: MisposFilter(profile)
