"""CRC-16/KERMIT, the checksum of ZVT serial frames (reflected poly 0x8408, init 0).

Computed over the unstuffed APDU plus the ETX byte and sent low byte first; the check value
for ``b"123456789"`` is 0x2189 (terminals.md §1).
"""

from __future__ import annotations

__all__ = ["crc16_kermit"]


def _table() -> tuple[int, ...]:
    out = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        out.append(crc)
    return tuple(out)


_TABLE = _table()


def crc16_kermit(data: bytes) -> int:
    """The CRC of ``data`` as an integer (send ``.to_bytes(2, "little")``)."""
    crc = 0
    for byte in data:
        crc = (crc >> 8) ^ _TABLE[(crc ^ byte) & 0xFF]
    return crc
