"""CRC-16/KERMIT, the checksum of ZVT serial frames (reflected poly 0x8408, init 0).

Computed over the unstuffed APDU plus the ETX byte and sent low byte first; the check value
for ``b"123456789"`` is 0x2189 (terminals.md §1). Every serial frame is checked both ways,
so it runs in C: KERMIT is the bit-mirror of CRC-16/XMODEM (``binascii.crc_hqx``, the same
polynomial unreflected) over bit-mirrored bytes.
"""

from __future__ import annotations

from binascii import crc_hqx

__all__ = ["crc16_kermit"]

#: each byte with its bits in reverse order
_MIRROR = bytes(int(f"{byte:08b}"[::-1], 2) for byte in range(256))


def crc16_kermit(data: bytes) -> int:
    """The CRC of ``data`` as an integer (send ``.to_bytes(2, "little")``)."""
    crc = crc_hqx(data.translate(_MIRROR), 0)
    return (_MIRROR[crc & 0xFF] << 8) | _MIRROR[crc >> 8]
