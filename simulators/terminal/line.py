"""What a terminal that is not speaking ZVT puts on the line (for the field probe's diagnosis).

``mute``: ZVT switched off — nothing at all. ``other_protocol``: an STX ... ETX frame with
an XOR LRC, as PAX-style and MIS-POS terminals send (terminals.md §7-8). ``noise``: what a
wrong baud rate or stop-bit setting looks like — every byte mangled, high bits set.
"""

from __future__ import annotations

from functools import reduce

__all__ = ["answer_off_protocol", "stx_frame"]


def stx_frame(body: bytes) -> bytes:
    """``STX body ETX LRC`` with the LRC the XOR of body and ETX."""
    lrc = reduce(lambda a, b: a ^ b, body + b"\x03", 0)
    return b"\x02" + body + b"\x03" + bytes([lrc])


def answer_off_protocol(mode: str, data: bytes) -> bytes:
    """The bytes a terminal in ``mode`` answers ``data`` with."""
    if mode == "other_protocol":
        return stx_frame(b"T01\x1c1.28\x1c100001\x1cUNKNOWN COMMAND")
    if mode == "noise":
        return bytes(0x80 | (b >> 1) ^ 0x7F for b in data)
    return b""
