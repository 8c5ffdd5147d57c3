"""The ZVT APDU: ``CLASS INSTR LEN data``, with extended lengths ``FF lo hi``.

LEN 0-254 is the data length; 0xFF announces a two-byte little-endian length (terminals.md
§2). The same bytes travel raw over TCP and inside DLE STX ... DLE ETX frames on serial
lines; ``ApduSplitter`` cuts a TCP byte stream into APDUs however it was split into reads.
"""

from __future__ import annotations

from dataclasses import dataclass

from paychannels.drivers.framing import Event, Frame, StreamDecoder
from paychannels.drivers.zvt.errors import ZvtProtocolError

__all__ = ["ZVT_TCP", "Apdu", "ApduSplitter", "apdu_length", "decode_apdu"]

MAX_DATA = 0xFFFF


@dataclass(frozen=True, slots=True)
class Apdu:
    """One application message: a two-byte command (class, instruction) and its data."""

    cls: int
    ins: int
    data: bytes = b""

    @property
    def command(self) -> bytes:
        """The two control bytes, e.g. ``b"\\x06\\x01"``."""
        return bytes([self.cls, self.ins])

    def encode(self) -> bytes:
        """The APDU's bytes, with an extended length when the data needs one."""
        size = len(self.data)
        if size > MAX_DATA:
            raise ValueError(f"APDU data of {size} bytes exceeds {MAX_DATA}")
        head = bytes([self.cls, self.ins])
        if size < 0xFF:
            return head + bytes([size]) + self.data
        return head + b"\xff" + size.to_bytes(2, "little") + self.data

    def __str__(self) -> str:
        return f"{self.cls:02X} {self.ins:02X} ({len(self.data)} bytes)"


def apdu_length(buf: bytes | bytearray) -> int | None:
    """The total length of the APDU at the start of ``buf``, or None if the header is incomplete."""
    if len(buf) < 3:
        return None
    if buf[2] != 0xFF:
        return 3 + buf[2]
    if len(buf) < 5:
        return None
    return 5 + int.from_bytes(buf[3:5], "little")


def decode_apdu(raw: bytes) -> Apdu:
    """One APDU from exactly its bytes; a length that disagrees is a ``ZvtProtocolError``."""
    total = apdu_length(raw)
    if total is None:
        raise ZvtProtocolError(f"APDU of {len(raw)} bytes is shorter than its header", field="APDU")
    if total != len(raw):
        raise ZvtProtocolError(
            f"APDU {raw[:2].hex(' ').upper()} announces {total} bytes, has {len(raw)}",
            field="APDU length",
        )
    start = 5 if raw[2] == 0xFF else 3
    return Apdu(raw[0], raw[1], bytes(raw[start:]))


class ApduSplitter:
    """Reassembles APDUs from a byte stream split at arbitrary points (TCP)."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Take bytes; return every APDU completed by them, in order."""
        if not self._buf and apdu_length(data) == len(data):  # a read of one whole APDU
            return [bytes(data)]
        self._buf += data
        out: list[bytes] = []
        while (total := apdu_length(self._buf)) is not None and len(self._buf) >= total:
            out.append(bytes(self._buf[:total]))
            del self._buf[:total]
        return out

    @property
    def pending(self) -> bytes:
        """Bytes of an APDU not yet complete."""
        return bytes(self._buf)

    def reset(self) -> None:
        """Forget a partial APDU (the connection was reset)."""
        self._buf.clear()


class _ApduStream:
    """TCP's "framing" for the shared transports: whole APDUs out of the byte stream."""

    def __init__(self) -> None:
        self._splitter = ApduSplitter()

    @property
    def in_frame(self) -> bool:
        return bool(self._splitter.pending)

    def feed(self, data: bytes) -> list[Event]:
        return [Frame(apdu, True, apdu) for apdu in self._splitter.feed(data)]

    def reset(self) -> Frame | None:
        pending = self._splitter.pending
        self._splitter.reset()
        return Frame(pending, False, pending, "incomplete APDU") if pending else None


class _ZvtTcp:
    """ZVT over TCP: APDUs as they are, no framing bytes."""

    def encode(self, payload: bytes) -> bytes:
        return payload

    def decoder(self) -> StreamDecoder:
        return _ApduStream()


ZVT_TCP = _ZvtTcp()
