"""Transcripts: what crossed a link, in order, timestamped — written by the spy, read by replays.

One line per unit, plain text so a field engineer can read and mail it::

    # paychannels transcript v1
    # link: tcp://10.1.2.3:20007
    # started: 2026-01-05T09:00:00.000000+00:00
    0.000000 * open
    0.000312 > 0601...  # Authorization 04=380.00
    0.001020 < 800000  # positive acknowledgement

``>`` is what we wrote, ``<`` what we read, ``*`` a link event. Bytes are hex, masked by the
writer's filter before they reach the file (card numbers, passwords); notes are scrubbed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Literal

from paychannels.security.masking import scrub
from paychannels.values.errors import ProtocolError

__all__ = ["Entry", "Transcript", "TranscriptWriter"]

Direction = Literal[">", "<", "*"]
MAGIC = "# paychannels transcript v1"


@dataclass(frozen=True, slots=True)
class Entry:
    """One transcript line: bytes in a direction, or a link event."""

    at: float
    direction: Direction
    data: bytes = b""
    text: str = ""
    note: str = ""


@dataclass
class Transcript:
    """A parsed transcript file."""

    header: dict[str, str] = field(default_factory=dict)
    entries: list[Entry] = field(default_factory=list)

    @classmethod
    def load(cls, path: str | Path) -> Transcript:
        """Read a transcript; ``ProtocolError`` names the file and line of anything malformed."""
        where = str(path)
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        if not lines or lines[0].strip() != MAGIC:
            raise ProtocolError(f"{where}:1: not a paychannels transcript (expected {MAGIC!r})")
        out = cls()
        for number, line in enumerate(lines[1:], start=2):
            if not line.strip() or line.strip() == MAGIC:  # a later writer's header block
                continue
            if line.startswith("#"):
                key, _, value = line[1:].partition(":")
                out.header[key.strip()] = value.strip()
                continue
            out.entries.append(_parse_line(line, f"{where}:{number}"))
        return out

    def stream(self, direction: Literal[">", "<"]) -> bytes:
        """Every byte that went one way, concatenated."""
        return b"".join(e.data for e in self.entries if e.direction == direction)

    def exchanges(self) -> Iterator[Entry]:
        """The byte entries (no events), in order."""
        return (e for e in self.entries if e.direction != "*")


def _parse_line(line: str, where: str) -> Entry:
    body, _, note = line.partition("  # ")
    parts = body.split(None, 2)
    if len(parts) < 3 or parts[1] not in (">", "<", "*"):
        raise ProtocolError(f"{where}: expected '<seconds> <'>'|'<'|'*'> <hex or event>'")
    try:
        at = float(parts[0])
    except ValueError:
        raise ProtocolError(f"{where}: {parts[0]!r} is not a time in seconds") from None
    direction: Direction = parts[1]  # type: ignore[assignment]
    if direction == "*":
        return Entry(at, direction, text=parts[2].strip(), note=note.strip())
    try:
        data = bytes.fromhex(parts[2])
    except ValueError:
        raise ProtocolError(f"{where}: {parts[2][:40]!r} is not hex") from None
    return Entry(at, direction, data=data, note=note.strip())


def _one_line(text: str) -> str:
    return scrub(" ".join(text.split()))


class TranscriptWriter:
    """Appends transcript lines to a file or stream, flushed line by line (crash-proof)."""

    def __init__(self, target: str | Path | IO[str], *, link: str, append: bool = False) -> None:
        """``append``: add to an existing file (a channel's transcript across restarts);
        each writer starts with its own header block, its times counted from its start."""
        if isinstance(target, str | Path):
            path = Path(target)
            path.parent.mkdir(parents=True, exist_ok=True)
            mode = "a" if append else "w"
            self._fh: IO[str] = open(path, mode, encoding="utf-8")  # noqa: SIM115 - kept open
            self._owned = True
            self.path: Path | None = path
        else:
            self._fh, self._owned, self.path = target, False, None
        self._start = time.monotonic()
        self._lock = threading.Lock()
        started = datetime.now(UTC).isoformat(timespec="microseconds")
        self._put(f"{MAGIC}\n# link: {scrub(link)}\n# started: {started}\n")

    def _put(self, text: str) -> None:
        with self._lock:
            if self._fh.closed:
                return
            self._fh.write(text)
            self._fh.flush()

    def _stamp(self) -> str:
        return f"{time.monotonic() - self._start:.6f}"

    def bytes(self, direction: Literal[">", "<"], data: bytes, note: str = "") -> None:
        """Record bytes that went one way (already masked by the caller's filter)."""
        suffix = f"  # {_one_line(note)}" if note else ""
        self._put(f"{self._stamp()} {direction} {data.hex()}{suffix}\n")

    def event(self, text: str) -> None:
        """Record a link event (open, close, peer closed...)."""
        self._put(f"{self._stamp()} * {_one_line(text)}\n")

    def close(self) -> None:
        """Stop writing (closes the file if the writer opened it)."""
        with self._lock:
            if self._owned and not self._fh.closed:
                self._fh.close()
