"""Framed byte links with ACK/NAK: what ZVT's serial line and bank MIS-POS terminals share.

A *line framing* says how a message is wrapped on the wire (ZVT: ``DLE STX ... DLE ETX``
+ CRC; MIS-POS: ``STX | length | body | ETX | LRC`` as a profile declares) and gives an
incremental decoder that never raises: it reports whole frames (``valid`` False for a bad
checksum), single ACK/NAK bytes, and noise between frames. ``AckedTransport`` moves
payloads over any link with such a framing: the receiver answers each frame at once with
ACK or NAK; the sender resends after a NAK or when no answer came within ``t2``, at most
``resends`` times; a gap longer than ``t1`` inside a frame NAKs it. What a failure means is
decided here once: every transmission NAKed -> ``FrameRejected`` (a ``NotSentError``:
nothing ran); no answer at all -> ``NoAcknowledgement`` (the frame may have arrived). The
transports carry no fault hooks: simulators and fault tests drop, corrupt or refuse frames on
the line, through a link that does so (``paychannels.simulators.faultlink.FaultLink``).

A frame that books money (``send(..., books=True)``) is resent only after a NAK — the peer
said it took nothing. Silence proves nothing (the frame may have arrived and only its ACK
been lost), so such a frame is not sent again on silence, unless the peer is known to
recognise a repeated request (``repeat_safe``: a MIS-POS profile's declared resend key).
Silence never fails a booking either: ``send`` returns unconfirmed and the caller waits for
the answer, which proves arrival; if none comes the outcome is unknown and is settled by
asking the terminal, never by sending the booking again.

Every wait honours its deadline however many bytes keep arriving: a peer that streams noise,
or a frame that never ends, is a ``LinkTimeout`` at the deadline, not a reader held forever
(with the terminal lock).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from paychannels.links.base import Link, deadline_in
from paychannels.values.errors import LinkError, LinkTimeout, NotSentError, OutcomeUnknownError

__all__ = [
    "ACK",
    "NAK",
    "AckedTransport",
    "Control",
    "Event",
    "Frame",
    "FrameRejected",
    "LineFraming",
    "LineStats",
    "NoAcknowledgement",
    "Noise",
    "PlainTransport",
    "StreamDecoder",
    "Transport",
]

ACK, NAK = 0x06, 0x15


class FrameRejected(LinkError, NotSentError):
    """Every transmission of a frame was answered with NAK: the peer took nothing."""


class NoAcknowledgement(OutcomeUnknownError):
    """A frame (or command) left but no acknowledgement came back: it may have arrived."""


@dataclass(frozen=True, slots=True)
class Frame:
    """A complete frame; ``valid`` is False when its checksum, length or escapes are wrong."""

    payload: bytes
    valid: bool
    raw: bytes
    problem: str = ""


@dataclass(frozen=True, slots=True)
class Control:
    """A lone ACK or NAK byte."""

    byte: int
    raw: bytes


@dataclass(frozen=True, slots=True)
class Noise:
    """Bytes outside any frame (line noise, another protocol, a wrong baud rate)."""

    raw: bytes


Event = Frame | Control | Noise


class StreamDecoder(Protocol):
    """Cuts a byte stream into frames, control bytes and noise; never raises."""

    @property
    def in_frame(self) -> bool:
        """Whether a frame has started and not yet ended (``t1`` runs between its bytes)."""
        ...

    def feed(self, data: bytes) -> list[Event]:
        """Take bytes; return what they completed, in order."""
        ...

    def reset(self) -> Frame | None:
        """Abandon a partial frame; return it as an invalid frame, if there was one."""
        ...


class LineFraming(Protocol):
    """How payloads are wrapped on one kind of line."""

    def encode(self, payload: bytes) -> bytes:
        """The wire bytes of one frame."""
        ...

    def decoder(self) -> StreamDecoder:
        """A fresh incremental decoder."""
        ...


@dataclass
class LineStats:
    """What the line looked like (field probes read this to diagnose wrong settings)."""

    frames: int = 0
    bad_frames: int = 0
    noise_bytes: int = 0
    naks_received: int = 0
    unconfirmed: int = 0  # booking frames met by silence and not resent
    bytes_received: int = 0
    sample: bytes = b""

    def saw(self, data: bytes) -> None:
        self.bytes_received += len(data)
        if len(self.sample) < 64:
            self.sample += data[: 64 - len(self.sample)]


class Transport(ABC):
    """Sends and receives whole payloads over a link."""

    def __init__(self, link: Link) -> None:
        self.link = link
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
        """Write anything the framing still owes the peer (an ACK/NAK)."""

    @abstractmethod
    def send(self, payload: bytes, *, books: bool = False, repeat_safe: bool = False) -> bool:
        """Deliver one payload (with ACKs: until acknowledged, with resends); False when a
        booking frame (``books``) met silence: it may have arrived, its answer will tell. A
        booking is resent on silence only when the peer recognises a repeat (``repeat_safe``)."""

    @abstractmethod
    def receive(self, deadline: float) -> bytes:
        """The next payload; ``LinkTimeout`` at the deadline."""

    def abandon(self) -> None:
        """Give up on the current exchange."""
        self.reset()

    def _expire(self, deadline: float) -> None:
        """``LinkTimeout`` once the deadline has passed, however many bytes keep coming: a
        peer that streams noise (or a frame that never ends) must not hold a reader past it."""
        if time.monotonic() >= deadline:
            raise LinkTimeout(
                f"{self.link.url}: no whole message before the deadline "
                f"({self.stats.noise_bytes} bytes of noise, {self.stats.bad_frames} bad frames)"
            )


class AckedTransport(Transport):
    """Frames answered with ACK/NAK, ``t1`` inside a frame, ``t2`` for the answer, resends."""

    def __init__(
        self,
        link: Link,
        framing: LineFraming,
        *,
        t1: float = 0.2,
        t2: float = 5.0,
        resends: int = 2,
        ack: int = ACK,
        nak: int = NAK,
        merge_acks: bool = False,
    ) -> None:
        super().__init__(link)
        self.framing = framing
        self.t1, self.t2, self.resends = t1, t2, resends
        self.ack, self.nak = ack, nak
        self.merge_acks = merge_acks
        self._decoder = framing.decoder()
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

    def send(self, payload: bytes, *, books: bool = False, repeat_safe: bool = False) -> bool:
        frame = self.framing.encode(payload)
        naks = 0
        attempts = self.resends + 1
        for _ in range(attempts):
            unsent, self._unsent = self._unsent, b""
            self.link.write(unsent + frame)
            answer = self._await_answer(deadline_in(self.t2))
            if answer == self.ack:
                return True
            if answer == self.nak:
                naks += 1
                self.stats.naks_received += 1
            elif books and not repeat_safe:  # silence: it may have arrived; a copy may book
                self.stats.unconfirmed += 1
                return False
        what = f"{self.link.url}: frame {payload[:2].hex(' ').upper()}"
        if naks == attempts:
            raise FrameRejected(f"{what} was refused with NAK {attempts} times; nothing ran")
        if books:  # one of the copies may have arrived: its answer will tell
            self.stats.unconfirmed += 1
            return False
        raise NoAcknowledgement(
            f"{what}: no ACK after {attempts} transmissions ({naks} NAK, T2 {self.t2:g} s)"
        )

    def _await_answer(self, deadline: float) -> int | None:
        """The first ACK or NAK before ``deadline``; a valid frame counts as an ACK.

        A garbled answer (noise, then ``t1`` of quiet) is an answer too: the peer heard us
        but the line settings differ, and waiting out T2 for a readable one only delays the
        same verdict. It counts as silence (None), so a booking frame is not resent."""
        answer: int | None = None
        garbled = False
        while answer is None:
            until = min(deadline, self._last_byte + self.t1) if garbled else deadline
            try:
                data = self._read(until)
            except LinkTimeout:
                return None
            for event in self._events(data):
                if isinstance(event, Control) and answer is None:
                    answer = event.byte
                elif isinstance(event, Frame) and event.valid and answer is None:
                    answer = self.ack  # the peer already answers: it has our frame
                elif isinstance(event, Noise):
                    garbled = True
            if answer is None and time.monotonic() >= deadline:
                return None  # bytes kept coming, none of them an answer
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
                    self._answer(valid=False)
                    continue
                raise
            for _ in self._events(data):
                pass
            if not self._queue:
                self._expire(deadline)
        return self._queue.popleft()

    def _events(self, data: bytes) -> list[Event]:
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
                if self._answer(valid=event.valid) == self.ack:
                    self._queue.append(event.payload)
            elif isinstance(event, Noise):
                self.stats.noise_bytes += len(event.raw)
        return events

    def _answer(self, *, valid: bool) -> int:
        """Answer a frame at once (with ``merge_acks``: with our next write, which follows at once
        because the dialogue answers every message — or before our next read)."""
        byte = self.ack if valid else self.nak
        self._unsent += bytes([byte])
        if not self.merge_acks:
            self._flush()
        return byte


class PlainTransport(Transport):
    """Frames without acknowledgements: sent once, read as they come, bad ones dropped."""

    def __init__(self, link: Link, framing: LineFraming) -> None:
        super().__init__(link)
        self.framing = framing
        self._decoder = framing.decoder()

    def reset(self) -> None:
        super().reset()
        self._decoder.reset()

    def send(self, payload: bytes, *, books: bool = False, repeat_safe: bool = False) -> bool:
        self.link.write(self.framing.encode(payload))
        return True

    def receive(self, deadline: float) -> bytes:
        while not self._queue:
            data = self.link.read(4096, deadline=deadline)
            self.stats.saw(data)
            for event in self._decoder.feed(data):
                if isinstance(event, Frame) and event.valid:
                    self.stats.frames += 1
                    self._queue.append(event.payload)
                elif isinstance(event, Frame):
                    self.stats.bad_frames += 1
                elif isinstance(event, Noise):
                    self.stats.noise_bytes += len(event.raw)
            if not self._queue:
                self._expire(deadline)
        return self._queue.popleft()
