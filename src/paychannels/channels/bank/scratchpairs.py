"""Pairs of 64-bit integers kept in arrival order, in memory up to a limit and past it in an
anonymous scratch file (unlinked from birth: nothing is left after a crash).

A flush's plan keeps one pair a debit (line offset, amount): 16 bytes a debit, 48 MB for a
province's 3,000,000-debit spool if held. It needs them back only in order (the amounts, to
cut files and batches) and a few by position (the offsets where files start), so past
``LIMIT`` the pairs are appended to the file a block at a time and read back the same way:
memory then holds at most a block, whatever the spool's size.
"""

from __future__ import annotations

import os
import tempfile
from array import array
from collections.abc import Iterator
from typing import IO

__all__ = ["BLOCK", "LIMIT", "ScratchPairs"]

LIMIT = 1 << 18  # pairs kept in memory (4 MB); more go to the scratch file
BLOCK = 1 << 13  # pairs written or read back at a time (128 KB)
_PAIR = 16  # bytes a pair: two native int64


class ScratchPairs:
    """``append`` pairs, then read them back with ``column`` (in order) or ``get`` (one);
    at most ``limit`` are held in memory at once."""

    def __init__(self, *, limit: int | None = None) -> None:
        self._limit = max(1, LIMIT if limit is None else limit)  # (a test may lower it)
        self._held: array[int] = array("q")  # flat: first, second, first, second, ...
        self._file: IO[bytes] | None = None
        self._written = 0  # pairs in the file, before those held
        self.most_held = 0  # the most pairs ever held in memory at once

    def __len__(self) -> int:
        return self._written + len(self._held) // 2

    @property
    def spilled(self) -> bool:
        """Whether the pairs (all but a block's tail) live in the scratch file."""
        return self._file is not None

    def append(self, first: int, second: int) -> None:
        """One more pair; OverflowError (nothing kept) when either is not an int64."""
        held = self._held
        held.append(first)
        try:
            held.append(second)
        except OverflowError:
            held.pop()
            raise
        count = len(held) // 2
        self.most_held = max(self.most_held, count)
        if count >= (self._limit if self._file is None else min(self._limit, BLOCK)):
            self._spill()

    def _spill(self) -> None:
        if self._file is None:
            self._file = tempfile.TemporaryFile()  # noqa: SIM115 - open until close()
        self._held.tofile(self._file)
        self._written += len(self._held) // 2
        self._held = array("q")

    def column(self, which: int) -> Iterator[int]:
        """The first (0) or second (1) number of every pair, in order, a block at a time."""
        if self._file is not None:
            self._file.flush()
            fd = self._file.fileno()
            for start in range(0, self._written, BLOCK):
                n = min(BLOCK, self._written - start)
                block = array("q")
                block.frombytes(os.pread(fd, n * _PAIR, start * _PAIR))
                yield from block[which::2]
        yield from self._held[which::2]

    def get(self, index: int) -> tuple[int, int]:
        """The pair at ``index`` (0-based, in order of arrival)."""
        if not 0 <= index < len(self):
            raise IndexError(f"pair {index} of {len(self)}")
        if index >= self._written:
            at = 2 * (index - self._written)
            return self._held[at], self._held[at + 1]
        assert self._file is not None
        self._file.flush()
        pair = array("q")
        pair.frombytes(os.pread(self._file.fileno(), _PAIR, index * _PAIR))
        return pair[0], pair[1]

    def close(self) -> None:
        """Give the scratch file back (also done when the object is collected)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self._held = array("q")
        self._written = 0
