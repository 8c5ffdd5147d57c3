"""ZVT transports: APDUs in and out over a link, serial-framed or plain TCP.

Framing only (the dialogue's T3/T4 live in ``dialogue``). Serial (terminals.md §1): each
frame is answered at once with ACK or NAK; a sender resends after a NAK or when no answer
came within T2, at most twice; a receiver NAKs a frame with a wrong CRC or a gap longer
than T1 between its bytes. TCP: APDUs are reassembled from however the stream was split.
Both sides use the same classes (the simulator is the terminal end); a ``Tamper`` hook lets
the simulator and the fault tests drop, corrupt or refuse frames on purpose.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass
from typing import ClassVar, Literal, Protocol

from paychannels.drivers.zvt.apdu import ApduSplitter
from paychannels.drivers.zvt.errors import FrameRejected, NoAcknowledgement
from paychannels.drivers.zvt.frames import (
    ACK,
    NAK,
    Control,
    Frame,
    FrameDecoder,
    Noise,
    encode_frame,
)
from paychannels.errors import LinkTimeout
from paychannels.links.base import Link, deadline_in

__all__ = ["LineStats", "SerialTransport", "Tamper", "TcpTransport", "Transport", "make_transport"]

Framing = Literal["serial", "tcp"]


class Tamper(Protocol):
    """Fault injection on a transport (simulator and tests only)."""

    def outgoing(self, apdu: bytes, wire: bytes, attempt: int) -> bytes | None:
        """The bytes to put on the wire for this transmission (None: drop it)."""
        ...

    def answer(self, apdu: bytes, valid: bool) -> int | None:
        """Serial: the ACK/NAK byte to answer a received frame with (None: stay silent)."""
        ...


@dataclass
class LineStats:
    """What the line looked like (the field probe reads this to diagnose wrong settings)."""

    frames: int = 0
    bad_frames: int = 0
    noise_bytes: int = 0
    naks_received: int = 0
    bytes_received: int = 0
    sample: bytes = b""

    def saw(self, data: bytes) -> None:
        self.bytes_received += len(data)
        if len(self.sample) < 64:
            self.sample += data[: 64 - len(self.sample)]


class Transport(ABC):
    """Sends and receives whole APDUs over a link."""

    framing: ClassVar[Framing]

    def __init__(self, link: Link, *, tamper: Tamper | None = None) -> None:
        self.link = link
        self.tamper = tamper
        self.stats = LineStats()
        self._queue: deque[bytes] = deque()

    def open(self) -> None:
        """Open the link (``LinkConnectError`` if it cannot be) and start clean."""
        self.link.open()
        self.reset()

    def close(self) -> None:
        self.link.close()

    def reset(self) -> None:
        """Forget queued and partial messages."""
        self._queue.clear()

    def discard_stale(self) -> None:
        """Drop whatever arrived unasked (leftovers of an earlier dialogue) before a command."""
        self._flush()
        self.stats.saw(self.link.drain())
        self.reset()

    def _flush(self) -> None:  # noqa: B027 - most transports owe nothing
        """Write anything the framing still owes the peer (serial ACK/NAK)."""

    @abstractmethod
    def send(self, apdu: bytes) -> None:
        """Deliver one APDU (serial: until ACKed, with resends)."""

    @abstractmethod
    def receive(self, deadline: float) -> bytes:
        """The next APDU; ``LinkTimeout`` at the deadline."""

    def abandon(self) -> None:
        """Give up on the current exchange (T3 expiry): TCP closes the socket."""
        self.reset()


class TcpTransport(Transport):
    """Plain APDUs over TCP."""

    framing = "tcp"

    def __init__(self, link: Link, *, tamper: Tamper | None = None) -> None:
        super().__init__(link, tamper=tamper)
        self._splitter = ApduSplitter()

    def reset(self) -> None:
        super().reset()
        self._splitter.reset()

    def send(self, apdu: bytes) -> None:
        wire = apdu if self.tamper is None else self.tamper.outgoing(apdu, apdu, 1)
        if wire:
            self.link.write(wire)

    def receive(self, deadline: float) -> bytes:
        while not self._queue:
            data = self.link.read(4096, deadline=deadline)
            self.stats.saw(data)
            for apdu in self._splitter.feed(data):
                self.stats.frames += 1
                self._queue.append(apdu)
        return self._queue.popleft()

    def abandon(self) -> None:
        super().abandon()
        self.link.close()


class SerialTransport(Transport):
    """DLE STX ... DLE ETX CRC frames with ACK/NAK, T1, T2 and at most two resends."""

    framing = "serial"

    def __init__(
        self,
        link: Link,
        *,
        t1: float = 0.2,
        t2: float = 5.0,
        resends: int = 2,
        tamper: Tamper | None = None,
        merge_acks: bool = False,
    ) -> None:
        super().__init__(link, tamper=tamper)
        self.t1, self.t2, self.resends = t1, t2, resends
        self.merge_acks = merge_acks
        self._decoder = FrameDecoder()
        self._last_byte = 0.0
        self._unsent = b""  # an ACK/NAK not written yet: it leaves with our next bytes

    def reset(self) -> None:
        super().reset()
        self._decoder.reset()

    def close(self) -> None:
        self._flush()
        super().close()

    def _flush(self) -> None:
        """Write the pending ACK/NAK now (before we wait for anything)."""
        if self._unsent and self.link.is_open:
            unsent, self._unsent = self._unsent, b""
            self.link.write(unsent)

    def _read(self, deadline: float) -> bytes:
        self._flush()
        return self.link.read(4096, deadline=deadline)

    def send(self, apdu: bytes) -> None:
        frame = encode_frame(apdu)
        naks = 0
        attempts = self.resends + 1
        for attempt in range(1, attempts + 1):
            wire = frame if self.tamper is None else self.tamper.outgoing(apdu, frame, attempt)
            unsent, self._unsent = self._unsent, b""
            if wire or unsent:
                self.link.write(unsent + (wire or b""))
            answer = self._await_answer(deadline_in(self.t2))
            if answer == ACK:
                return
            if answer == NAK:
                naks += 1
                self.stats.naks_received += 1
        what = f"{self.link.url}: frame {apdu[:2].hex(' ').upper()}"
        if naks == attempts:
            raise FrameRejected(f"{what} was refused with NAK {attempts} times; nothing ran")
        raise NoAcknowledgement(
            f"{what}: no ACK after {attempts} transmissions ({naks} NAK, T2 {self.t2:g} s)"
        )

    def _await_answer(self, deadline: float) -> int | None:
        """The first ACK or NAK before ``deadline``; a valid frame counts as an ACK."""
        answer: int | None = None
        while answer is None:
            try:
                data = self._read(deadline)
            except LinkTimeout:
                return None
            for event in self._events(data):
                if isinstance(event, Control) and answer is None:
                    answer = event.byte
                elif isinstance(event, Frame) and event.valid and answer is None:
                    answer = ACK  # the peer already answers: it has our frame
        return answer

    def receive(self, deadline: float) -> bytes:
        while not self._queue:
            read_until = deadline
            if self._decoder.in_frame:
                read_until = min(deadline, self._last_byte + self.t1)
            try:
                data = self._read(read_until)
            except LinkTimeout:
                if self._decoder.in_frame and time.monotonic() < deadline:
                    self._decoder.reset()
                    self.stats.bad_frames += 1
                    self._answer(b"", valid=False)
                    continue
                raise
            for _ in self._events(data):
                pass
        return self._queue.popleft()

    def _events(self, data: bytes) -> list[Frame | Control | Noise]:
        """Decode bytes: answer each frame, queue the good ones, count the rest."""
        self._last_byte = time.monotonic()
        self.stats.saw(data)
        events = self._decoder.feed(data)
        for event in events:
            if isinstance(event, Frame):
                if event.valid:
                    self.stats.frames += 1
                else:
                    self.stats.bad_frames += 1
                if self._answer(event.apdu, valid=event.valid) == ACK:
                    self._queue.append(event.apdu)
            elif isinstance(event, Noise):
                self.stats.noise_bytes += len(event.raw)
        return events

    def _answer(self, apdu: bytes, *, valid: bool) -> int | None:
        """Answer a frame at once (with ``merge_acks``: with our next write, which follows at once
        because the dialogue answers every message — or before our next read)."""
        byte = (ACK if valid else NAK) if self.tamper is None else self.tamper.answer(apdu, valid)
        if byte is not None:
            self._unsent += bytes([byte])
            if not self.merge_acks:
                self._flush()
        return byte


def make_transport(
    link: Link,
    framing: Framing,
    *,
    t1: float = 0.2,
    t2: float = 5.0,
    tamper: Tamper | None = None,
    merge_acks: bool = False,
) -> Transport:
    """A transport of the given framing over ``link``."""
    if framing == "serial":
        return SerialTransport(link, t1=t1, t2=t2, tamper=tamper, merge_acks=merge_acks)
    return TcpTransport(link, tamper=tamper)
