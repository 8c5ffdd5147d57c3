"""``STX | length | body | ETX | LRC``: MIS-POS framing, in the variants a profile declares.

The length is 2-byte BCD (``01 23`` = 123), ASCII digits (``"0123"``), big-endian binary or
absent; it counts the body (or the body and ETX). The LRC is the XOR of the parts the
profile names (any of STX, length, body, ETX), starting from a seed (0x00; Nexi uses 0x7F).
Without a length, the body ends at the first ETX, so a body may not contain one. The
decoder is incremental and never raises: whole frames (``valid`` False with the problem
named: a wrong LRC, a length that is not digits, no ETX where the length says), single
ACK/NAK bytes, and noise between frames — what the probe needs to tell a wrong setting.
"""

from __future__ import annotations

from functools import reduce

from paychannels.drivers.framing import Control, Event, Frame, Noise, StreamDecoder
from paychannels.drivers.mispos.errors import MisposFormatError
from paychannels.drivers.mispos.profile import FrameSpec

__all__ = ["MisposFraming", "lrc"]


def lrc(data: bytes, seed: int = 0) -> int:
    """XOR of ``data``, starting from ``seed``."""
    return reduce(lambda a, b: a ^ b, data, seed)


def write_length(spec: FrameSpec, count: int) -> bytes:
    """The length field for a body (``count`` already includes ETX if the spec says so)."""
    if count > spec.max_body + (1 if spec.length_counts == "body+etx" else 0):
        raise MisposFormatError(f"a body of {count} bytes does not fit the length field")
    size = spec.length_size
    if spec.length == "bcd":
        return bytes.fromhex(f"{count:0{2 * size}d}")
    if spec.length == "ascii":
        return f"{count:0{size}d}".encode("ascii")
    if spec.length == "binary":
        return count.to_bytes(size, "big")
    return b""


def read_length(spec: FrameSpec, raw: bytes) -> int | None:
    """The count a length field says, or None when it is not a length (not digits...)."""
    if spec.length == "bcd":
        digits = raw.hex()
        return int(digits) if digits.isdigit() else None
    if spec.length == "ascii":
        return int(raw) if raw.isdigit() else None
    return int.from_bytes(raw, "big")


class MisposFraming:
    """A profile's framing, as the shared ``AckedTransport`` takes it."""

    def __init__(self, spec: FrameSpec) -> None:
        self.spec = spec

    def check(self, parts: dict[str, bytes]) -> int:
        """The LRC over the parts the profile names."""
        data = b"".join(parts[name] for name in self.spec.lrc)
        return lrc(data, self.spec.lrc_seed)

    def encode(self, payload: bytes) -> bytes:
        s = self.spec
        if s.length == "none" and s.etx in payload:
            raise MisposFormatError(f"the body holds an ETX byte ({s.etx:02X}) and has no length")
        count = len(payload) + (1 if s.length_counts == "body+etx" else 0)
        parts = {
            "stx": bytes([s.stx]),
            "length": write_length(s, count),
            "body": payload,
            "etx": bytes([s.etx]),
        }
        tail = bytes([self.check(parts)]) if s.lrc else b""
        return parts["stx"] + parts["length"] + payload + parts["etx"] + tail

    def decoder(self) -> StreamDecoder:
        return MisposDecoder(self)


class MisposDecoder:
    """Cuts a byte stream into frames; see the module docstring."""

    def __init__(self, framing: MisposFraming) -> None:
        self.framing = framing
        self.spec = framing.spec
        self._raw = bytearray()
        self._noise = bytearray()
        self._state = "idle"  # idle | length | body | etx | lrc
        self._length = b""
        self._want = -1  # body bytes still expected (-1: until ETX)
        self._body = bytearray()

    @property
    def in_frame(self) -> bool:
        return self._state != "idle"

    def reset(self) -> Frame | None:
        partial = None
        if self.in_frame:
            partial = Frame(
                bytes(self._body), False, bytes(self._raw), "incomplete (bytes stopped)"
            )
        self._state = "idle"
        self._raw.clear()
        self._body.clear()
        return partial

    def feed(self, data: bytes) -> list[Event]:
        out: list[Event] = []
        for byte in data:
            self._step(byte, out)
        if self._noise and self._state == "idle":
            out.append(Noise(bytes(self._noise)))
            self._noise.clear()
        return out

    def _start(self, out: list[Event]) -> None:
        if self._noise:
            out.append(Noise(bytes(self._noise)))
            self._noise.clear()
        self._raw[:] = bytes([self.spec.stx])
        self._body.clear()
        self._length = b""
        self._want = -1
        self._state = "length" if self.spec.length != "none" else "body"

    def _step(self, byte: int, out: list[Event]) -> None:
        s = self.spec
        state = self._state
        if state == "idle":
            if byte == s.stx:
                self._start(out)
            elif s.acknowledge and byte in (s.ack, s.nak):
                if self._noise:
                    out.append(Noise(bytes(self._noise)))
                    self._noise.clear()
                out.append(Control(byte, bytes([byte])))
            else:
                self._noise.append(byte)
            return
        self._raw.append(byte)
        if state == "length":
            self._length += bytes([byte])
            if len(self._length) == s.length_size:
                count = read_length(s, self._length)
                if count is None:
                    self._bad(
                        out, f"length {self._length.hex(' ').upper()} is not a {s.length} length"
                    )
                    return
                self._want = count - (1 if s.length_counts == "body+etx" else 0)
                if self._want < 0:
                    self._bad(out, f"length {count} cannot hold the ETX it counts")
                    return
                self._state = "body" if self._want else "etx"
        elif state == "body":
            if self._want < 0 and byte == s.etx:
                self._ended(out)
            else:
                self._body.append(byte)
                if self._want > 0 and len(self._body) == self._want:
                    self._state = "etx"
                elif self._want < 0 and len(self._body) > s.max_body:
                    self._bad(out, f"no ETX within {s.max_body} bytes")
        elif state == "etx":
            if byte != s.etx:
                self._bad(out, f"{byte:02X} where the length puts ETX ({s.etx:02X})")
                return
            self._ended(out)
        else:  # lrc
            self._finish(out, byte)

    def _ended(self, out: list[Event]) -> None:
        if self.spec.lrc:
            self._state = "lrc"
        else:
            self._finish(out, None)

    def _finish(self, out: list[Event], got: int | None) -> None:
        body = bytes(self._body)
        problem = ""
        if got is not None:
            parts = {"stx": bytes([self.spec.stx]), "length": self._length, "body": body}
            parts["etx"] = bytes([self.spec.etx])
            want = self.framing.check(parts)
            if got != want:
                problem = f"LRC {got:02X}, expected {want:02X}"
        out.append(Frame(body, not problem, bytes(self._raw), problem))
        self._state = "idle"
        self._raw.clear()
        self._body.clear()

    def _bad(self, out: list[Event], problem: str) -> None:
        out.append(Frame(bytes(self._body), False, bytes(self._raw), problem))
        self._state = "idle"
        self._raw.clear()
        self._body.clear()
