"""``FaultLink``: a real link that loses, garbles or withholds bytes on purpose.

Fault injection as an implementation of the link interface (pyserial's ``spy://`` and
``loop://``, httpx's ``MockTransport``): whoever is under test — a driver's framed transport,
or the simulated terminal's own — gets this link instead of its serial port or socket and
cannot tell. The library's transports carry no fault hooks; every fault is bytes on the line.
It lives with the simulators (above the drivers, so it may read their framings); the tests
wrap a driver's link in it, the terminal simulator wraps its own.

Faults on what this side writes, each for the next occasion only:

- ``lose_next(wire)`` / ``garble_next(wire, garbled)``: the next write that carries the frame
  ``wire`` loses it or carries ``garbled`` instead (a resend of the same frame goes through);
- ``drop_next_ack()``: our next acknowledgement (the ``ack`` bytes leading a write) is lost.

Faults on what this side reads:

- ``mute_answers(seconds)``: from the next write on, everything the peer sends for
  ``seconds`` is lost (its ACK, its answer, its resends);
- ``refuse``: with a ``cutter`` (a framing's decoder), each whole valid frame the peer sends
  is shown to ``refuse``; when it says so, the frame's last byte (its checksum) arrives
  garbled, so the reader's own framing finds it bad and NAKs it — a refusal on the wire;
- ``hears``: while it says False, nothing the peer sends arrives (a mis-set line).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from paychannels.drivers.framing import Frame, StreamDecoder
from paychannels.links.base import Link, remaining
from paychannels.values.errors import LinkTimeout

__all__ = ["FaultLink"]


def _flip(byte: int) -> int:
    return byte ^ 0x5A


class FaultLink(Link):
    """Wraps an inner link and spoils bytes as armed; see the module docstring."""

    def __init__(
        self,
        inner: Link,
        *,
        ack: bytes = b"\x06",
        cutter: Callable[[], StreamDecoder] | None = None,
        refuse: Callable[[bytes], bool] | None = None,
        hears: Callable[[], bool] | None = None,
    ) -> None:
        super().__init__(inner.url)
        self.inner = inner
        self.ack = ack
        self.refuse = refuse
        self.hears = hears
        self.lost_in = 0  # bytes from the peer thrown away
        self.lost_out = 0  # bytes to the peer thrown away
        self.garbled_in = 0  # frames from the peer spoiled (refused)
        self.garbled_out = 0  # frames to the peer spoiled
        self._cutter = cutter
        self._decoder = cutter() if cutter is not None and refuse is not None else None
        self._spoil: tuple[bytes, bytes] | None = None  # (wire, what leaves instead)
        self._mute_for: float | None = None  # armed: the next write starts the silence
        self._mute_until = 0.0
        self._drop_ack = False

    # -- arming ----------------------------------------------------------------------------

    def lose_next(self, wire: bytes) -> None:
        """Lose the next write of the frame ``wire``."""
        self._spoil = (wire, b"")

    def garble_next(self, wire: bytes, garbled: bytes) -> None:
        """Send ``garbled`` in place of the next write of the frame ``wire``."""
        self._spoil = (wire, garbled)

    def drop_next_ack(self) -> None:
        """Lose our next ACK."""
        self._drop_ack = True

    def mute_answers(self, seconds: float) -> None:
        """Lose every byte the peer sends for ``seconds`` after our next write."""
        self._mute_for = seconds

    def resync(self) -> None:
        """Forget a partly seen frame (the reader's transport was reset, bytes went past us)."""
        if self._decoder is not None:
            self._decoder.reset()

    # -- the link --------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.inner.is_open

    @property
    def written(self) -> int:
        return self.inner.written

    def open(self) -> None:
        self.inner.open()
        self.resync()

    def close(self) -> None:
        self.inner.close()

    def _write(self, data: bytes) -> None:
        if self._drop_ack and data.startswith(self.ack):
            data = data[len(self.ack) :]
            self._drop_ack = False
            self.lost_out += len(self.ack)
        if self._spoil is not None and self._spoil[0] in data:
            wire, instead = self._spoil
            data = data.replace(wire, instead, 1)
            self._spoil = None
            self.garbled_out += 1
            self.lost_out += len(wire) - len(instead)
        if data:
            self.inner.write(data)
        if self._mute_for is not None:
            self._mute_until, self._mute_for = time.monotonic() + self._mute_for, None

    def _read(self, max_bytes: int, deadline: float) -> bytes:
        while True:
            data = self.inner.read(max_bytes, deadline=deadline)
            muted = time.monotonic() < self._mute_until
            if not muted and (self.hears is None or self.hears()):
                return self._refused(data)
            self.lost_in += len(data)
            self.resync()
            if remaining(deadline) <= 0:
                raise LinkTimeout(f"{self.url}: nothing arrived before the deadline")

    def _refused(self, data: bytes) -> bytes:
        """``data`` with the last byte of each frame ``refuse`` turns down garbled."""
        if self._decoder is None or self.refuse is None:
            return data
        out = bytearray(data)
        for i in range(len(data)):
            for event in self._decoder.feed(data[i : i + 1]):
                if isinstance(event, Frame) and event.valid and self.refuse(event.payload):
                    out[i] = _flip(out[i])
                    self.garbled_in += 1
        return bytes(out)
