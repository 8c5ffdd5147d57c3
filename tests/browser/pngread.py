"""Reading the browser's PNG screenshots with zlib and struct alone (no imaging library).

Enough of PNG for Chromium's screenshots: 8-bit greyscale, RGB or RGBA, not interlaced.
Rows are unfiltered with big-integer arithmetic where the filter allows it (*Up* adds the
row above, *Sub* is a prefix sum: bytes added in parallel without carries between them),
byte by byte otherwise (*Average*, *Paeth*).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Image", "read_png"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 6: 4}  # colour type -> bytes per pixel at 8 bits


@dataclass(frozen=True)
class Image:
    """Decoded pixels, row by row, ``channels`` bytes each (RGB(A) or grey)."""

    width: int
    height: int
    channels: int
    pixels: bytes

    def pixel(self, x: int, y: int) -> tuple[int, ...]:
        """The channel values of one pixel."""
        at = (y * self.width + x) * self.channels
        return tuple(self.pixels[at : at + self.channels])

    def ink(self, *, white: int = 245) -> int:
        """How many pixels are not white (some colour channel at or below ``white``)."""
        return self._matching([[v <= white for v in range(256)]] * self._colours, every=False)

    def count_colour(self, rgb: tuple[int, int, int], *, tolerance: int = 24) -> int:
        """How many pixels are within ``tolerance`` of ``rgb`` in every colour channel."""
        tables = [[abs(v - want) <= tolerance for v in range(256)] for want in rgb]
        return self._matching(tables[: self._colours], every=True)

    @property
    def _colours(self) -> int:
        return min(self.channels, 3)

    def _matching(self, tests: list[list[bool]], *, every: bool) -> int:
        """Pixels whose colour channels pass ``tests`` (all, or any), counted at C speed:
        each channel's results become 0/1 bytes of a big integer, moved onto the pixel's
        last colour byte, combined, masked and counted."""
        c, last = self.channels, len(tests) - 1
        combined = -1 if every else 0
        for k, test in enumerate(tests):
            table = bytes(int(ok) for ok in test)
            flags = int.from_bytes(self.pixels.translate(table), "big") >> (8 * (last - k))
            combined = combined & flags if every else combined | flags
        one = b"\x00" * last + b"\x01" + b"\x00" * (c - last - 1)
        mask = int.from_bytes(one * (self.width * self.height), "big")
        return (combined & mask).bit_count()


def read_png(path: Path) -> Image:
    """Decode ``path``; ``ValueError`` for anything but 8-bit grey/RGB/RGBA, not interlaced."""
    data = path.read_bytes()
    if not data.startswith(_SIGNATURE):
        raise ValueError(f"{path}: not a PNG file")
    pos, chunks, header = 8, [], b""
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + size]
        pos += 12 + size
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        elif kind == b"IEND":
            break
    width, height, depth, colour, _c, _f, interlace = struct.unpack(">IIBBBBB", header)
    if depth != 8 or colour not in _CHANNELS or interlace:
        raise ValueError(f"{path}: depth {depth}, colour type {colour}, interlace {interlace}")
    bpp = _CHANNELS[colour]
    stride = width * bpp
    raw = zlib.decompress(b"".join(chunks))
    rows: list[bytes] = []
    prior = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], raw[start + 1 : start + 1 + stride]
        prior = _unfilter(kind, line, prior, bpp)
        rows.append(prior)
    return Image(width, height, bpp, b"".join(rows))


def _unfilter(kind: int, line: bytes, prior: bytes, bpp: int) -> bytes:
    if kind == 0:
        return line
    if kind == 1:
        return _prefix_sum(line, bpp)
    if kind == 2:
        return _add(line, prior)
    out = bytearray(line)
    if kind == 3:
        for i in range(len(out)):
            left = out[i - bpp] if i >= bpp else 0
            out[i] = (out[i] + ((left + prior[i]) >> 1)) & 0xFF
        return bytes(out)
    if kind == 4:
        for i in range(len(out)):
            if i >= bpp:
                a, c = out[i - bpp], prior[i - bpp]
            else:
                a = c = 0
            b = prior[i]
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
            out[i] = (out[i] + pred) & 0xFF
        return bytes(out)
    raise ValueError(f"unknown PNG filter type {kind}")


def _add(x: bytes, y: bytes) -> bytes:
    """Byte-wise addition modulo 256 of two equally long strings, all at once."""
    n = len(x)
    a, b = int.from_bytes(x, "big"), int.from_bytes(y, "big")
    low = int.from_bytes(b"\x7f" * n, "big")
    high = int.from_bytes(b"\x80" * n, "big")
    return (((a & low) + (b & low)) ^ ((a ^ b) & high)).to_bytes(n, "big")


def _prefix_sum(line: bytes, bpp: int) -> bytes:
    """Each byte plus the one ``bpp`` before it, already summed (the *Sub* filter)."""
    n = len(line)
    low = int.from_bytes(b"\x7f" * n, "big")
    high = int.from_bytes(b"\x80" * n, "big")
    total = int.from_bytes(line, "big")
    shift = bpp
    while shift < n:  # earlier bytes are the more significant: they move right
        moved = total >> (8 * shift)
        total = ((total & low) + (moved & low)) ^ ((total ^ moved) & high)
        shift *= 2
    return total.to_bytes(n, "big")
