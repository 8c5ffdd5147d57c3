"""ZVT bitmaps (BMPs): the tagged fields of commands and status information.

Each BMP is a one-byte tag followed by a value whose length the tag implies: fixed binary,
fixed BCD, fixed ASCII, LLVAR / LLLVAR (``F x F y`` length prefix) or the BER-TLV container
(``06``). An unknown tag cannot be skipped (its length is unknowable), so it is a
``ZvtProtocolError``, as is any value running past the end of the message.
Sources: terminals.md §3; the field table of ZVT-CMD §3.1 as ecrterm lists it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from paychannels.drivers.zvt.bcd import (
    bcd_decode,
    bcd_encode,
    decode_var_length,
    digits_decode,
    encode_var_length,
)
from paychannels.drivers.zvt.errors import ZvtProtocolError
from paychannels.drivers.zvt.tlv import Tlv, decode_ber_length, decode_tlv, encode_ber_length

__all__ = ["BMPS", "Bitmaps", "BmpSpec", "decode_bmps", "encode_bmp"]

Kind = Literal["bin", "bcd", "ascii", "llvar", "lllvar", "tlv"]


@dataclass(frozen=True, slots=True)
class BmpSpec:
    """What a BMP tag holds and how long it is."""

    tag: int
    name: str
    kind: Kind
    size: int = 0


def _specs() -> dict[int, BmpSpec]:
    table: list[tuple[int, str, Kind, int]] = [
        (0x01, "timeout", "bin", 1),
        (0x02, "max status infos", "bin", 1),
        (0x03, "service byte", "bin", 1),
        (0x04, "amount", "bcd", 6),
        (0x05, "pump number", "bin", 1),
        (0x06, "TLV container", "tlv", 0),
        (0x0B, "trace number", "bcd", 3),
        (0x0C, "time", "bcd", 3),
        (0x0D, "date", "bcd", 2),
        (0x0E, "expiry date", "bcd", 2),
        (0x17, "card sequence number", "bcd", 2),
        (0x19, "payment type", "bin", 1),
        (0x22, "card number", "llvar", 0),
        (0x23, "track 2", "llvar", 0),
        (0x24, "track 3", "lllvar", 0),
        (0x27, "result code", "bin", 1),
        (0x29, "terminal id", "bcd", 4),
        (0x2A, "VU number", "ascii", 15),
        (0x2D, "track 1", "llvar", 0),
        (0x2E, "synchronous chip data", "lllvar", 0),
        (0x37, "original trace number", "bcd", 3),
        (0x3A, "CVV", "bcd", 2),
        (0x3B, "AID", "bin", 8),
        (0x3C, "additional text", "lllvar", 0),
        (0x3D, "password", "bcd", 3),
        (0x49, "currency code", "bcd", 2),
        (0x60, "individual totals", "lllvar", 0),
        (0x87, "receipt number", "bcd", 2),
        (0x88, "turnover number", "bcd", 3),
        (0x8A, "card type", "bin", 1),
        (0x8B, "card name", "llvar", 0),
        (0x8C, "card type of the network operator", "bin", 1),
        (0x92, "offline chip data", "lllvar", 0),
        (0x9A, "Geldkarte records", "lllvar", 0),
        (0xA0, "host result code", "bin", 1),
        (0xA7, "chip data EF_ID", "llvar", 0),
        (0xAA, "date YYMMDD", "bcd", 3),
        (0xAF, "EF_Info", "lllvar", 0),
        (0xBA, "AID parameter", "bin", 5),
    ]
    return {tag: BmpSpec(tag, name, kind, size) for tag, name, kind, size in table}


BMPS: dict[int, BmpSpec] = _specs()
_BER = -1
#: per tag, what precedes the value and the value's size: (0, size) fixed, (2 | 3, 0) an
#: LL/LLLVAR prefix of that many digits, (_BER, 0) a BER length (the TLV container)
_LAYOUT: dict[int, tuple[int, int]] = {
    tag: (
        (0, spec.size)
        if spec.kind in ("bin", "bcd", "ascii")
        else (_BER if spec.kind == "tlv" else 2 if spec.kind == "llvar" else 3, 0)
    )
    for tag, spec in BMPS.items()
}
#: BMPs whose value is a card number or track data (masked in transcripts and logs)
CARD_DATA = frozenset({0x22, 0x23, 0x24, 0x2D})


@dataclass(frozen=True)
class Bitmaps:
    """The BMPs of one message, in order, with typed readers; tags map to raw value bytes."""

    items: tuple[tuple[int, bytes], ...] = ()
    #: where each value starts in the message (for masking and error messages)
    offsets: tuple[int, ...] = field(default=(), compare=False)

    def __contains__(self, tag: int) -> bool:
        return tag in self._first

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        return iter(self.items)

    @cached_property
    def _first(self) -> dict[int, bytes]:
        """Each tag's first value (a status information is read a dozen times per payment)."""
        first: dict[int, bytes] = {}
        for tag, value in self.items:
            first.setdefault(tag, value)
        return first

    def raw(self, tag: int) -> bytes | None:
        """The value bytes of the first BMP ``tag`` (LL/LLLVAR without their prefix)."""
        return self._first.get(tag)

    def number(self, tag: int) -> int | None:
        """A BCD value as an integer."""
        raw = self.raw(tag)
        return None if raw is None else bcd_decode(raw, field=BMPS[tag].name)

    def byte(self, tag: int) -> int | None:
        """A one-byte binary value."""
        raw = self.raw(tag)
        if raw is None:
            return None
        if len(raw) != 1:
            raise ZvtProtocolError(
                f"BMP {tag:02X} holds {len(raw)} bytes, not one", field=f"BMP {tag:02X}"
            )
        return raw[0]

    def text(self, tag: int, charset: str) -> str | None:
        """A text value decoded with the terminal's charset (undecodable bytes replaced)."""
        raw = self.raw(tag)
        return None if raw is None else raw.decode(charset, errors="replace").rstrip("\x00 ")

    def digits(self, tag: int) -> str | None:
        """A card number with masked digits as ``*``."""
        raw = self.raw(tag)
        return None if raw is None else digits_decode(raw, field=BMPS[tag].name)

    def tlv(self) -> list[Tlv]:
        """The TLV container's objects (empty if there is none)."""
        raw = self.raw(0x06)
        return [] if raw is None else decode_tlv(raw)


def decode_bmps(data: bytes, *, start: int = 0, what: str = "message") -> Bitmaps:
    """Every BMP in ``data[start:]``; ``ZvtProtocolError`` names the tag and offset of a fault."""
    items: list[tuple[int, bytes]] = []
    offsets: list[int] = []
    pos, end = start, len(data)
    while pos < end:
        tag = data[pos]
        layout = _LAYOUT.get(tag)
        if layout is None:
            raise ZvtProtocolError(
                f"unknown BMP {tag:02X} in {what}", offset=pos, field=f"BMP {tag:02X}"
            )
        prefix, length = layout
        pos += 1
        if prefix == _BER:
            if pos < end and data[pos] < 0x80:  # a short container: its length is one byte
                length, pos = data[pos], pos + 1
            else:
                length, pos = decode_ber_length(data, pos, field=f"{_label(tag, what)} length")
        elif prefix:
            try:
                length = decode_var_length(data, pos, prefix, field="")
            except ZvtProtocolError:  # again, to name the BMP (a label per BMP costs)
                decode_var_length(data, pos, prefix, field=_label(tag, what))
                raise
            pos += prefix
        if pos + length > end:
            raise ZvtProtocolError(
                f"{_label(tag, what)} needs {length} bytes, only {end - pos} left",
                offset=pos,
                field=_label(tag, what),
            )
        items.append((tag, data[pos : pos + length]))
        offsets.append(pos)
        pos += length
    return Bitmaps(tuple(items), tuple(offsets))


def _label(tag: int, what: str) -> str:
    """How an error names a BMP (built only when there is an error to name it in)."""
    return f"BMP {tag:02X} ({BMPS[tag].name}) in {what}"


def encode_bmp(tag: int, value: bytes | int | Iterable[Tlv]) -> bytes:
    """One BMP: an int goes in as BCD (or a byte) of the tag's size, TLV objects as a container."""
    spec = BMPS[tag]
    if spec.kind == "tlv":
        if isinstance(value, int):
            raise TypeError("BMP 06 takes TLV objects or the container's bytes")
        body = value if isinstance(value, bytes) else b"".join(t.encode() for t in value)
        return bytes([tag]) + encode_ber_length(len(body)) + body
    if isinstance(value, int):
        if spec.kind == "bcd":
            return bytes([tag]) + bcd_encode(value, spec.size)
        if spec.kind == "bin" and spec.size == 1:
            return bytes([tag, value])
        raise TypeError(f"BMP {tag:02X} ({spec.name}) does not take an integer")
    if not isinstance(value, bytes):
        raise TypeError(f"BMP {tag:02X} ({spec.name}) takes bytes")
    if spec.kind in ("llvar", "lllvar"):
        return (
            bytes([tag]) + encode_var_length(len(value), 2 if spec.kind == "llvar" else 3) + value
        )
    if len(value) != spec.size:
        raise ValueError(f"BMP {tag:02X} ({spec.name}) is {spec.size} bytes, got {len(value)}")
    return bytes([tag]) + value
