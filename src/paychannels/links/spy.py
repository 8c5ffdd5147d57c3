"""``SpyLink``: a link wrapper that records both directions to a transcript, masked.

The raw material for fixtures and for field bug reports: wrap any link, and every byte
written or read lands in a transcript file with a timestamp, while the wrapped link behaves
exactly as before. What reaches the file passes a ``StreamFilter`` per direction first: the
default one records chunks as they are; a protocol-aware one (ZVT's) cuts the stream into
messages, masks card numbers and passwords inside them and adds a readable note.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import IO, NamedTuple, Protocol

from paychannels.links.base import Link
from paychannels.links.transcript import TranscriptWriter
from paychannels.values.errors import LinkClosed

__all__ = ["PassThrough", "SpyLink", "StreamFilter", "Unit"]


class Unit(NamedTuple):
    """A piece of a byte stream fit for the transcript: masked bytes and a note."""

    data: bytes
    note: str = ""


class StreamFilter(Protocol):
    """Cuts one direction of a stream into masked units (it may hold back an incomplete tail)."""

    def feed(self, data: bytes) -> list[Unit]:
        """Take newly seen bytes; return the units that are complete now."""
        ...

    def flush(self) -> list[Unit]:
        """Return whatever is held back (the link closed mid-message)."""
        ...


class PassThrough:
    """Records chunks as they come, unchanged (for protocols without a masking filter)."""

    def feed(self, data: bytes) -> list[Unit]:
        return [Unit(data)]

    def flush(self) -> list[Unit]:
        return []


FilterFactory = Callable[[], StreamFilter]


class SpyLink(Link):
    """Wraps a link and records its traffic; see the module docstring."""

    def __init__(
        self,
        inner: Link,
        transcript: TranscriptWriter | str | Path | IO[str],
        *,
        filters: FilterFactory = PassThrough,
    ) -> None:
        super().__init__(inner.url)
        self.inner = inner
        self.transcript = (
            transcript
            if isinstance(transcript, TranscriptWriter)
            else TranscriptWriter(transcript, link=inner.url)
        )
        self._filters = filters
        self._out: StreamFilter = filters()
        self._in: StreamFilter = filters()

    @property
    def is_open(self) -> bool:
        return self.inner.is_open

    @property
    def written(self) -> int:
        return self.inner.written

    def open(self) -> None:
        if self.inner.is_open:
            return
        try:
            self.inner.open()
        except Exception as exc:
            self.transcript.event(f"open failed: {exc}")
            raise
        self._out, self._in = self._filters(), self._filters()
        self.transcript.event("open")

    def close(self) -> None:
        was_open = self.inner.is_open
        self._flush()
        self.inner.close()
        if was_open:
            self.transcript.event("close")

    def _flush(self) -> None:
        for unit in self._out.flush():
            self.transcript.bytes(">", unit.data, unit.note)
        for unit in self._in.flush():
            self.transcript.bytes("<", unit.data, unit.note)

    def _write(self, data: bytes) -> None:
        before = self.inner.written
        try:
            self.inner.write(data)
        finally:
            chunk = data[: self.inner.written - before]
            for unit in self._out.feed(chunk) if chunk else ():
                self.transcript.bytes(">", unit.data, unit.note)

    def _read(self, max_bytes: int, deadline: float) -> bytes:
        try:
            data = self.inner.read(max_bytes, deadline=deadline)
        except LinkClosed as exc:
            self._flush()
            self.transcript.event(f"closed by peer: {exc}")
            raise
        for unit in self._in.feed(data):
            self.transcript.bytes("<", unit.data, unit.note)
        return data

    def detach(self) -> None:
        """Stop recording (closes the transcript file if the spy opened it)."""
        self._flush()
        self.transcript.close()
