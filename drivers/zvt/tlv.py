"""BER-TLV, the encoding of ZVT's TLV container (BMP ``06``).

Tags are one byte, or several when the low five bits of the first are all set (``1F1F``);
bit 0x20 of the first byte marks a constructed tag whose value is more TLV. Lengths are
BER: one byte below 0x80, else ``81 xx`` / ``82 xx xx``. Nesting is limited so hostile
input cannot recurse without end.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from paychannels.drivers.zvt.errors import ZvtProtocolError

__all__ = [
    "Tlv",
    "decode_ber_length",
    "decode_tlv",
    "encode_ber_length",
    "encode_tlv",
    "find",
]

MAX_DEPTH = 8


@dataclass(frozen=True, slots=True)
class Tlv:
    """One TLV object; ``children`` is set for constructed tags (``value`` holds their bytes)."""

    tag: int
    value: bytes = b""
    children: tuple[Tlv, ...] | None = None

    @property
    def constructed(self) -> bool:
        """Whether the tag says the value is more TLV."""
        return _constructed(self.tag)

    @classmethod
    def of(cls, tag: int, *children: Tlv) -> Tlv:
        """A constructed object from its children."""
        return cls(tag, encode_tlv(children), tuple(children))

    def encode(self) -> bytes:
        """Tag, length and value."""
        body = encode_tlv(self.children) if self.children is not None else self.value
        return _tag_bytes(self.tag) + encode_ber_length(len(body)) + body


def _constructed(tag: int) -> bool:
    first = tag
    while first > 0xFF:
        first >>= 8
    return bool(first & 0x20)


def _tag_bytes(tag: int) -> bytes:
    if tag < 0:
        raise ValueError(f"bad TLV tag {tag}")
    return tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big")


def encode_ber_length(length: int) -> bytes:
    """A BER length: one byte below 0x80, else ``8n`` and n big-endian bytes."""
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def decode_ber_length(data: bytes, pos: int, *, field: str = "TLV length") -> tuple[int, int]:
    """Read a BER length at ``pos``: (length, position after it)."""
    if pos >= len(data):
        raise ZvtProtocolError(f"{field} missing at the end", offset=pos, field=field)
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if count == 0 or count > 3:
        raise ZvtProtocolError(
            f"{field}: {first:02X} is not a supported BER length", offset=pos, field=field
        )
    if pos + 1 + count > len(data):
        raise ZvtProtocolError(f"{field} runs past the end", offset=pos, field=field)
    return int.from_bytes(data[pos + 1 : pos + 1 + count], "big"), pos + 1 + count


def _read_tag(data: bytes, pos: int) -> tuple[int, int]:
    tag = data[pos]
    pos += 1
    if tag & 0x1F == 0x1F:
        for _ in range(3):
            if pos >= len(data):
                raise ZvtProtocolError("TLV tag runs past the end", offset=pos, field="TLV tag")
            byte = data[pos]
            tag = (tag << 8) | byte
            pos += 1
            if not byte & 0x80:
                return tag, pos
        raise ZvtProtocolError("TLV tag longer than 4 bytes", offset=pos, field="TLV tag")
    return tag, pos


def decode_tlv(data: bytes, *, depth: int = 0) -> list[Tlv]:
    """Every TLV object in ``data`` (constructed ones with their children decoded)."""
    if depth > MAX_DEPTH:
        raise ZvtProtocolError(f"TLV nested deeper than {MAX_DEPTH} levels", field="TLV")
    out: list[Tlv] = []
    pos = 0
    while pos < len(data):
        start = pos
        tag, pos = _read_tag(data, pos)
        if pos < len(data) and data[pos] < 0x80:  # the usual one-byte length
            length, pos = data[pos], pos + 1
        else:
            length, pos = decode_ber_length(data, pos, field=f"TLV {tag:X} length")
        if pos + length > len(data):
            raise ZvtProtocolError(
                f"TLV {tag:X} claims {length} bytes, only {len(data) - pos} left",
                offset=start,
                field=f"TLV {tag:X}",
            )
        value = data[pos : pos + length]
        pos += length
        children = tuple(decode_tlv(value, depth=depth + 1)) if _constructed(tag) else None
        out.append(Tlv(tag, value, children))
    return out


def encode_tlv(items: Iterable[Tlv]) -> bytes:
    """Objects back to bytes, in order."""
    return b"".join(item.encode() for item in items)


def walk(items: Iterable[Tlv]) -> Iterator[Tlv]:
    """Every object, depth first (children after their parent)."""
    for item in items:
        yield item
        if item.children:
            yield from walk(item.children)


def find(items: Iterable[Tlv], tag: int) -> Tlv | None:
    """The first object with ``tag`` anywhere in the tree."""
    return next((t for t in walk(items) if t.tag == tag), None)
