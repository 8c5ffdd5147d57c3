"""``LossyLink``: a real link with bytes lost on purpose, for the lost-frame trials.

Fault injection as an implementation of the link interface (like pyserial's ``loop://`` and
``spy://``): the driver under test gets this link instead of its serial port or socket and
cannot tell. Two faults, each armed for the next occasion only:

- ``mute_answers(seconds)``: from the next write on, everything the peer sends for
  ``seconds`` is lost (the answer line silent: its ACK, its answer, its resends);
- ``drop_next_ack()``: our next acknowledgement to the peer is lost (the other direction):
  the ACK byte on a framed line, or the protocol's acknowledgement message (ZVT over TCP:
  ``80 00 00``), alone or leading a write.
"""

from __future__ import annotations

import time

from paychannels.errors import LinkTimeout
from paychannels.links.base import Link, remaining

__all__ = ["LossyLink"]


class LossyLink(Link):
    """Wraps an inner link and loses bytes as armed; see the module docstring."""

    def __init__(self, inner: Link, *, ack: bytes = b"\x06") -> None:
        super().__init__(inner.url)
        self.inner = inner
        self.ack = ack
        self.lost_in = 0  # bytes from the peer thrown away
        self.lost_out = 0  # bytes to the peer thrown away
        self._mute_for: float | None = None  # armed: the next write starts the silence
        self._mute_until = 0.0
        self._drop_ack = False

    def mute_answers(self, seconds: float) -> None:
        """Lose every byte the peer sends for ``seconds`` after our next write."""
        self._mute_for = seconds

    def drop_next_ack(self) -> None:
        """Lose our next ACK byte."""
        self._drop_ack = True

    @property
    def is_open(self) -> bool:
        return self.inner.is_open

    @property
    def written(self) -> int:
        return self.inner.written

    def open(self) -> None:
        self.inner.open()

    def close(self) -> None:
        self.inner.close()

    def _write(self, data: bytes) -> None:
        if self._drop_ack and data.startswith(self.ack):
            data = data[len(self.ack) :]
            self._drop_ack = False
            self.lost_out += len(self.ack)
        if data:
            self.inner.write(data)
        if self._mute_for is not None:
            self._mute_until, self._mute_for = time.monotonic() + self._mute_for, None

    def _read(self, max_bytes: int, deadline: float) -> bytes:
        while True:
            data = self.inner.read(max_bytes, deadline=deadline)
            if time.monotonic() >= self._mute_until:
                return data
            self.lost_in += len(data)
            if remaining(deadline) <= 0:
                raise LinkTimeout(f"{self.url}: nothing arrived before the deadline")
