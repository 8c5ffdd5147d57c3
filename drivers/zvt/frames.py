"""ZVT serial framing: ``DLE STX`` APDU ``DLE ETX`` CRC-lo CRC-hi, with DLE doubling.

Every 0x10 inside the APDU is sent twice; the extra one counts in neither CRC nor length.
The CRC (CRC-16/KERMIT over the unstuffed APDU plus ETX) follows unstuffed, low byte first
(terminals.md §1, as ecrterm and Portalum send it). ``FrameDecoder`` is incremental and
never raises: it reports whole frames (with ``valid`` False for a wrong CRC or a broken
escape), single ACK/NAK bytes, and noise between frames, so the transport can ACK, NAK or
diagnose (noise is what a wrong baud rate looks like).
"""

from __future__ import annotations

from enum import Enum, auto

from paychannels.drivers.framing import ACK, NAK, Control, Event, Frame, Noise, StreamDecoder
from paychannels.drivers.zvt.crc import crc16_kermit

__all__ = [
    "ACK",
    "DLE",
    "ETX",
    "NAK",
    "STX",
    "ZVT_SERIAL",
    "Control",
    "Frame",
    "FrameDecoder",
    "Noise",
    "encode_frame",
]

DLE, STX, ETX = 0x10, 0x02, 0x03


def encode_frame(apdu: bytes, *, crc: int | None = None) -> bytes:
    """Frame an APDU for a serial line (``crc`` overrides the checksum, for fault injection)."""
    check = crc16_kermit(apdu + bytes([ETX])) if crc is None else crc
    return (
        b"\x10\x02" + apdu.replace(b"\x10", b"\x10\x10") + b"\x10\x03" + check.to_bytes(2, "little")
    )


class _State(Enum):
    IDLE = auto()
    IDLE_DLE = auto()
    BODY = auto()
    BODY_DLE = auto()
    CRC = auto()


class FrameDecoder:
    """Cuts a serial byte stream into frames, control bytes and noise; see the module docstring."""

    def __init__(self) -> None:
        self._state = _State.IDLE
        self._raw = bytearray()
        self._body = bytearray()
        self._noise = bytearray()
        self._problem = ""
        self._crc_left = 0

    @property
    def in_frame(self) -> bool:
        """Whether a frame has started and not yet ended (T1 runs between its bytes)."""
        return self._state in (_State.BODY, _State.BODY_DLE, _State.CRC)

    def reset(self) -> Frame | None:
        """Abandon a partial frame (T1 expired); returns it as an invalid frame, if any."""
        partial = None
        if self.in_frame:
            partial = Frame(bytes(self._body), False, bytes(self._raw), "incomplete (T1 expired)")
        self._state, self._problem = _State.IDLE, ""
        self._raw.clear()
        self._body.clear()
        return partial

    def feed(self, data: bytes) -> list[Event]:
        """Take bytes; return what they completed, in order."""
        out: list[Event] = []
        i, end = 0, len(data)
        while i < end:
            if self._state is _State.IDLE and not self._noise:
                whole = self._whole_frame(data, i, out)
                if whole:  # a frame or a control byte, cut at once
                    i += whole
                    continue
            if self._state is _State.BODY:  # fast path: copy up to the next DLE at once
                stop = data.find(DLE, i)
                stop = end if stop < 0 else stop
                if stop > i:
                    chunk = data[i:stop]
                    self._raw += chunk
                    self._body += chunk
                    i = stop
                    continue
            self._step(data[i], out)
            i += 1
        if self._noise and self._state is _State.IDLE:
            out.append(Noise(bytes(self._noise)))
            self._noise.clear()
        return out

    def _whole_frame(self, data: bytes, i: int, out: list[Event]) -> int:
        """The common case cut in C: an ACK/NAK byte, or a whole well-escaped frame from
        ``data[i]`` on (DLE STX ... DLE ETX CRC CRC); how many bytes it took, 0 to leave
        the byte to the state machine (noise, a frame split across reads, a broken escape)."""
        first = data[i]
        if first in (ACK, NAK):
            out.append(Control(first, bytes((first,))))
            return 1
        if first != DLE or data[i + 1 : i + 2] != b"\x02":
            return 0
        k = i + 2
        while True:
            j = data.find(DLE, k)
            if j < 0 or j + 1 >= len(data):
                return 0
            after = data[j + 1]
            if after == DLE:
                k = j + 2
            elif after == ETX and j + 4 <= len(data):
                break
            else:
                return 0
        body = bytes(data[i + 2 : j]).replace(b"\x10\x10", b"\x10")
        raw = bytes(data[i : j + 4])
        got = int.from_bytes(raw[-2:], "little")
        want = crc16_kermit(body + b"\x03")
        problem = "" if got == want else f"CRC {got:04X}, expected {want:04X}"
        out.append(Frame(body, not problem, raw, problem))
        return j + 4 - i

    def _flush_noise(self, out: list[Event]) -> None:
        if self._noise:
            out.append(Noise(bytes(self._noise)))
            self._noise.clear()

    def _step(self, byte: int, out: list[Event]) -> None:
        state = self._state
        if state is _State.IDLE:
            if byte == DLE:
                self._state = _State.IDLE_DLE
            elif byte in (ACK, NAK):
                self._flush_noise(out)
                out.append(Control(byte, bytes([byte])))
            else:
                self._noise.append(byte)
        elif state is _State.IDLE_DLE:
            if byte == STX:
                self._flush_noise(out)
                self._state = _State.BODY
                self._raw[:] = b"\x10\x02"
                self._body.clear()
                self._problem = ""
            else:
                self._noise += bytes([DLE])
                self._state = _State.IDLE
                self._step(byte, out)
        elif state is _State.BODY:
            self._raw.append(byte)
            if byte == DLE:
                self._state = _State.BODY_DLE
            else:
                self._body.append(byte)
        elif state is _State.BODY_DLE:
            self._raw.append(byte)
            if byte == DLE:
                self._body.append(DLE)
                self._state = _State.BODY
            elif byte == ETX:
                self._state = _State.CRC
                self._crc_left = 2
            elif byte == STX:  # a new frame began inside this one: report the broken one
                out.append(Frame(bytes(self._body), False, bytes(self._raw[:-2]), "restarted"))
                self._raw[:] = b"\x10\x02"
                self._body.clear()
                self._state = _State.BODY
            else:
                self._problem = self._problem or f"DLE followed by {byte:02X}"
                self._body.append(byte)
                self._state = _State.BODY
        else:  # CRC bytes
            self._raw.append(byte)
            self._crc_left -= 1
            if not self._crc_left:
                self._finish(out)

    def _finish(self, out: list[Event]) -> None:
        body = bytes(self._body)
        got = int.from_bytes(self._raw[-2:], "little")
        want = crc16_kermit(body + bytes([ETX]))
        problem = self._problem or ("" if got == want else f"CRC {got:04X}, expected {want:04X}")
        out.append(Frame(body, not problem, bytes(self._raw), problem))
        self._state = _State.IDLE
        self._raw.clear()
        self._body.clear()
        self._problem = ""


class _ZvtSerial:
    """ZVT's serial framing for the shared ``AckedTransport``."""

    def encode(self, payload: bytes) -> bytes:
        return encode_frame(payload)

    def decoder(self) -> StreamDecoder:
        return FrameDecoder()


ZVT_SERIAL = _ZvtSerial()
