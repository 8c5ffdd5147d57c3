"""What a terminal that is not speaking ZVT puts on the line (for the field probe's diagnosis).

``mute``: ZVT switched off — nothing at all. ``other_protocol``: an STX ... ETX frame with
an XOR LRC, as PAX-style and MIS-POS terminals send (terminals.md §7-8). ``noise``: what a
wrong baud rate or stop-bit setting looks like — every byte mangled, high bits set.
"""

from __future__ import annotations

from functools import reduce

from paychannels.links.base import Link

__all__ = ["PushbackLink", "answer_off_protocol", "stx_frame"]


def stx_frame(body: bytes) -> bytes:
    """``STX body ETX LRC`` with the LRC the XOR of body and ETX."""
    lrc = reduce(lambda a, b: a ^ b, body + b"\x03", 0)
    return b"\x02" + body + b"\x03" + bytes([lrc])


def answer_off_protocol(mode: str, data: bytes) -> bytes:
    """The bytes a terminal in ``mode`` answers ``data`` with."""
    if mode == "other_protocol":
        return stx_frame(b"T01\x1c1.28\x1c100001\x1cUNKNOWN COMMAND")
    if mode == "noise":
        return bytes(0x80 | (b >> 1) ^ 0x7F for b in data)
    return b""


class PushbackLink(Link):
    """The terminal's end of a line, able to take bytes back: what arrived while the line
    was off-protocol but found it back to normal is the normal terminal's to read."""

    def __init__(self, inner: Link) -> None:
        super().__init__(inner.url)
        self.inner = inner
        self._back = b""

    def unread(self, data: bytes) -> None:
        """Put ``data`` before whatever the line brings next."""
        self._back = data + self._back

    def open(self) -> None:
        self._back = b""
        self.inner.open()

    @property
    def is_open(self) -> bool:
        return self.inner.is_open

    def close(self) -> None:
        self.inner.close()

    def _write(self, data: bytes) -> None:
        self.inner.write(data)
        self._written += len(data)

    def _read(self, max_bytes: int, deadline: float) -> bytes:
        if self._back:
            data, self._back = self._back[:max_bytes], self._back[max_bytes:]
            return data
        return self.inner.read(max_bytes, deadline=deadline)
