"""Masking ZVT traffic for transcripts: card numbers, track data and passwords never reach a file.

The spy's filter cuts each direction into frames (serial) or APDUs (TCP), then masks in
place, keeping every length so a transcript still parses and replays: card numbers in BMP
22 keep their first six and last four digits (the rest become ``E``, ZVT's masked-digit
nibble), track data is blanked, the password of admin commands becomes ``FF FF FF``, and
long digit runs in receipt text become ``*``. Serial frames get a fresh CRC (a frame that
arrived with a wrong CRC keeps a wrong one). Anything that does not parse is masked
wholesale for BCD digit runs long enough to be a card number.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from paychannels.drivers.zvt.apdu import ApduSplitter, decode_apdu
from paychannels.drivers.zvt.bmp import CARD_DATA, Bitmaps, decode_bmps
from paychannels.drivers.zvt.commands import WITH_PASSWORD, command_name
from paychannels.drivers.zvt.errors import ZvtProtocolError
from paychannels.drivers.zvt.frames import ACK, Control, Frame, FrameDecoder, encode_frame
from paychannels.drivers.zvt.replies import Completion
from paychannels.drivers.zvt.transport import Framing
from paychannels.links.spy import StreamFilter, Unit

__all__ = ["ZvtFilter", "mask_apdu", "mask_bcd_runs", "zvt_filters"]

_TEXT_DIGITS = re.compile(rb"[0-9](?:[ -]?[0-9]){12,18}")
_BMP_START = {b"\x04\x0f": 0, b"\x06\x01": 0, b"\x06\x0f": 0, b"\x06\x30": 3, b"\x06\x31": 3}
_TEXT = {b"\x06\xd1", b"\x06\xd3"}


def mask_bcd_runs(data: bytes) -> bytes:
    """Mask every run of 13+ decimal nibbles (a card number in BCD) but its ends."""
    nibbles = list(data.hex())
    i = 0
    while i < len(nibbles):
        j = i
        while j < len(nibbles) and nibbles[j].isdigit():
            j += 1
        if j - i >= 13:
            for k in range(i + 6, j - 4):
                nibbles[k] = "e"
        i = j + 1
    return bytes.fromhex("".join(nibbles))


def _mask_text(data: bytes) -> bytes:
    def star(m: re.Match[bytes]) -> bytes:
        run = bytearray(m.group(0))
        digits = [i for i, b in enumerate(run) if 0x30 <= b <= 0x39]
        for i in digits[6:-4]:
            run[i] = 0x2A
        return bytes(run)

    return _TEXT_DIGITS.sub(star, data)


def _mask_pan_value(value: bytes) -> bytes:
    nibbles = list(value.hex())
    places = [i for i, c in enumerate(nibbles) if c != "f"]  # digits and masked digits
    for i in places[6:-4] if len(places) > 10 else places:
        nibbles[i] = "e"
    return bytes.fromhex("".join(nibbles))


def _bitmaps(code: bytes, data: bytes, start: int) -> Bitmaps:
    """The BMPs of a message; a completion may be a status enquiry's (version, status, BMPs)."""
    try:
        return decode_bmps(data, start=start)
    except ZvtProtocolError:
        if code != Completion.CODE:
            raise
    return Completion(data).status("latin-1")[2]


def mask_apdu(raw: bytes) -> tuple[bytes, str]:
    """The APDU with card data and password masked, and a short description of it."""
    try:
        apdu = decode_apdu(raw)
    except ZvtProtocolError:
        return mask_bcd_runs(raw), "malformed APDU"
    head = len(raw) - len(apdu.data)
    out = bytearray(raw)
    code = apdu.command
    if code in WITH_PASSWORD and len(apdu.data) >= 3:
        out[head : head + 3] = b"\xff\xff\xff"
    if code in _TEXT:
        out[head:] = _mask_text(bytes(out[head:]))
    start = _BMP_START.get(code)
    if start is not None and apdu.data:
        try:
            bitmaps = _bitmaps(code, apdu.data, start)
        except ZvtProtocolError:
            out[head:] = mask_bcd_runs(bytes(out[head:]))
            return bytes(out), f"{describe(code)} (malformed)"
        for (tag, value), offset in zip(bitmaps.items, bitmaps.offsets, strict=True):
            at = head + offset
            if tag == 0x22:
                out[at : at + len(value)] = _mask_pan_value(value)
            elif tag in CARD_DATA:
                out[at : at + len(value)] = b"\xee" * len(value)
            elif tag == 0x3C:
                out[at : at + len(value)] = _mask_text(value)
    return bytes(out), describe(code, apdu.data)


def describe(code: bytes, data: bytes = b"") -> str:
    """A short name for a message: ``Authorization``, ``80 00 ack``, ``84 6B refused``."""
    if code[0] == 0x80:
        return "positive acknowledgement"
    if code[0] == 0x84:
        return (
            "positive acknowledgement"
            if code[1] == 0
            else f"negative acknowledgement {code[1]:02X}"
        )
    names = {
        b"\x04\xff": "Intermediate status",
        b"\x04\x0f": "Status-Information",
        b"\x06\x0f": "Completion",
        b"\x06\x1e": "Abort from terminal",
        b"\x06\xd1": "Print line",
        b"\x06\xd3": "Text block",
    }
    name = names.get(code) or command_name(code)
    if code in (b"\x04\xff", b"\x06\x1e") and data:
        name += f" {data[0]:02X}"
    return name


class ZvtFilter:
    """A ``StreamFilter`` for one direction of ZVT traffic (see the module docstring)."""

    def __init__(self, framing: Framing) -> None:
        self.framing = framing
        self._frames = FrameDecoder()
        self._apdus = ApduSplitter()

    def feed(self, data: bytes) -> list[Unit]:
        if self.framing == "tcp":
            return [Unit(*mask_apdu(raw)) for raw in self._apdus.feed(data)]
        units: list[Unit] = []
        for event in self._frames.feed(data):
            if isinstance(event, Frame):
                units.append(self._frame(event))
            elif isinstance(event, Control):
                units.append(Unit(event.raw, "ACK" if event.byte == ACK else "NAK"))
            else:
                units.append(Unit(mask_bcd_runs(event.raw), "noise"))
        return units

    @staticmethod
    def _frame(frame: Frame) -> Unit:
        masked, note = mask_apdu(frame.payload)
        if frame.valid:
            return Unit(encode_frame(masked), note)
        return Unit(mask_bcd_runs(frame.raw), f"bad frame: {frame.problem}")

    def flush(self) -> list[Unit]:
        if self.framing == "tcp":
            rest = self._apdus.pending
            self._apdus.reset()
            return [Unit(mask_bcd_runs(rest), "incomplete APDU")] if rest else []
        partial = self._frames.reset()
        return [Unit(mask_bcd_runs(partial.raw), "incomplete frame")] if partial else []


def zvt_filters(framing: Framing) -> Callable[[], StreamFilter]:
    """The filter factory a ``SpyLink`` takes for ZVT traffic."""
    return lambda: ZvtFilter(framing)
