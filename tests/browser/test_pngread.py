"""The screenshot reader against PNGs written here with every row filter, and its pixel
counts against counting one pixel at a time."""

from __future__ import annotations

import random
import struct
import zlib
from pathlib import Path

import pytest

from tests.browser.pngread import read_png


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def _filtered(kind: int, row: bytes, prior: bytes, bpp: int) -> bytes:
    out = bytearray()
    for i, x in enumerate(row):
        a = row[i - bpp] if i >= bpp else 0
        b = prior[i]
        c = prior[i - bpp] if i >= bpp else 0
        pred = (0, a, b, (a + b) // 2, _paeth(a, b, c))[kind]
        out.append((x - pred) & 0xFF)
    return bytes([kind]) + bytes(out)


def _write_png(path: Path, width: int, height: int, bpp: int, pixels: bytes) -> None:
    stride = width * bpp
    prior = bytes(stride)
    raw = b""
    for y in range(height):
        row = pixels[y * stride : (y + 1) * stride]
        raw += _filtered(y % 5, row, prior, bpp)  # every filter type, in turn
        prior = row

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    colour = {3: 2, 4: 6}[bpp]
    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    data = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + data)


@pytest.mark.parametrize("bpp", [3, 4])
def test_every_filter_decodes_to_the_pixels_written(tmp_path: Path, bpp: int) -> None:
    rnd = random.Random(bpp)
    width, height = 37, 23
    palette = [(255, 255, 255), (46, 125, 50), (0, 0, 0), (250, 250, 250), (60, 110, 40)]
    pixels = b"".join(
        bytes(rnd.choice(palette) + ((rnd.randrange(256),) if bpp == 4 else ()))
        if rnd.random() < 0.6
        else bytes(rnd.randrange(256) for _ in range(bpp))
        for _ in range(width * height)
    )
    png = tmp_path / "t.png"
    _write_png(png, width, height, bpp, pixels)
    image = read_png(png)
    assert (image.width, image.height, image.channels) == (width, height, bpp)
    assert image.pixels == pixels
    assert image.pixel(1, 0) == tuple(pixels[bpp : 2 * bpp])
    each = [pixels[i : i + 3] for i in range(0, len(pixels), bpp)]
    assert image.ink() == sum(1 for p in each if min(p) <= 245)
    want = (46, 125, 50)
    green = sum(1 for p in each if all(abs(v - w) <= 24 for v, w in zip(p, want, strict=True)))
    assert image.count_colour(want) == green > 0


def test_other_pngs_are_refused(tmp_path: Path) -> None:
    png = tmp_path / "t.png"
    _write_png(png, 2, 2, 3, bytes(12))
    data = bytearray(png.read_bytes())
    data[24] = 16  # 16 bits per channel
    png.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="depth 16"):
        read_png(png)
    (tmp_path / "x.png").write_bytes(b"GIF89a")
    with pytest.raises(ValueError, match="not a PNG"):
        read_png(tmp_path / "x.png")
