"""BCD numbers and ZVT's length prefixes (``F x F y`` for LLVAR, ``F x F y F z`` for LLLVAR).

ZVT packs amounts, trace and receipt numbers, dates and card numbers two decimal digits a
byte. Card numbers may carry ``E`` nibbles for masked digits and an ``F`` pad; both are
accepted where a card number is read and nowhere else; a track-2 separator ``D`` ends it.
"""

from __future__ import annotations

from paychannels.drivers.zvt.errors import ZvtProtocolError

__all__ = [
    "bcd_decode",
    "bcd_encode",
    "decode_var_length",
    "digits_decode",
    "digits_encode",
    "encode_var_length",
]


def bcd_encode(value: int, size: int) -> bytes:
    """``value`` as ``size`` bytes of BCD, zero-padded on the left."""
    if value < 0:
        raise ValueError(f"BCD cannot hold a negative number ({value})")
    text = str(value)
    if len(text) > 2 * size:
        raise ValueError(f"{value} needs more than {2 * size} BCD digits")
    return bytes.fromhex(text.rjust(2 * size, "0"))


def bcd_decode(data: bytes, *, field: str = "BCD value") -> int:
    """The number in ``data``; a nibble above 9 is a ``ZvtProtocolError``."""
    text = data.hex()
    if not text:
        raise ZvtProtocolError(f"{field}: no digits", field=field)
    if not text.isdigit():
        bad = next(i for i, c in enumerate(text) if not c.isdigit()) // 2
        raise ZvtProtocolError(f"{field}: byte {data[bad]:02X} is not BCD", offset=bad, field=field)
    return int(text)


def digits_encode(digits: str) -> bytes:
    """A digit string (card number) as BCD, ``*`` as the masked nibble E, odd length F-padded."""
    nibbles = digits.replace("*", "E")
    if any(c not in "0123456789E" for c in nibbles):
        raise ValueError(f"not a digit string: {digits!r}")
    if len(nibbles) % 2:
        nibbles += "F"
    return bytes.fromhex(nibbles)


def digits_decode(data: bytes, *, field: str = "card number") -> str:
    """BCD digits with ``E`` shown as ``*`` and trailing ``F`` pads dropped. Terminals may send
    track-2 style data (card number, separator ``D``, expiry...): the number ends at the ``D``
    and the rest is never read."""
    text = data.hex().upper()
    text = text[: text.find("D")] if "D" in text else text
    text = text.rstrip("F")
    for i, c in enumerate(text):
        if c not in "0123456789E":
            raise ZvtProtocolError(
                f"{field}: nibble {c} is not a digit", offset=i // 2, field=field
            )
    return text.replace("E", "*")


def encode_var_length(length: int, digits: int) -> bytes:
    """An LLVAR (``digits=2``) or LLLVAR (``digits=3``) length prefix: ``F x F y [F z]``."""
    if not 0 <= length < 10**digits:
        raise ValueError(f"length {length} does not fit {digits} digits")
    return bytes(0xF0 | int(c) for c in str(length).rjust(digits, "0"))


def decode_var_length(data: bytes, pos: int, digits: int, *, field: str) -> int:
    """Read a ``F x F y [F z]`` length prefix at ``pos``."""
    if pos + digits > len(data):
        raise ZvtProtocolError(f"{field}: length prefix runs past the end", offset=pos, field=field)
    value = 0
    for i in range(digits):
        byte = data[pos + i]
        if byte & 0xF0 != 0xF0 or byte & 0x0F > 9:
            raise ZvtProtocolError(
                f"{field}: {byte:02X} is not a length digit (expected F0..F9)",
                offset=pos + i,
                field=field,
            )
        value = value * 10 + (byte & 0x0F)
    return value
