"""Sorted (64-bit key, 16-bit value) pairs that stay small in memory whatever their number.

The request file's index and the result file's "rows seen" hold one pair a debit. Up to
``limit`` pairs they are arrays in memory (10 bytes a pair: a county's file). Past it, the
sorted runs go to anonymous scratch files (unlinked from birth: nothing is left after a crash)
and are merged into one file of fixed blocks; memory keeps only the first key of each block
(8 bytes per ``BLOCK`` pairs), and a lookup reads one block. A province's file of millions
then costs the same memory as a county's.
"""

from __future__ import annotations

import heapq
import os
import tempfile
from array import array
from bisect import bisect_left
from collections.abc import Iterator
from typing import IO

__all__ = ["BLOCK", "LIMIT", "SortedPairs"]

RUN = 1 << 16  # pairs sorted at once: a list of Python ints costs ~45 bytes a value
LIMIT = 1 << 20  # pairs kept in memory (~10 MB); more are spilled to scratch files
BLOCK = 512  # pairs a block of the spilled file: 4 KB of keys and 1 KB of values
_KEYS = BLOCK * 8
_SIZE = BLOCK * 10


def _run_pairs(fh: IO[bytes], count: int) -> Iterator[tuple[int, int]]:
    """The pairs of one spilled run, read back a block at a time."""
    fh.seek(0)
    left = count
    while left:
        n = min(left, BLOCK)
        keys, values = array("q"), array("H")
        keys.frombytes(fh.read(n * 8))
        values.frombytes(fh.read(n * 2))
        yield from zip(keys, values, strict=True)
        left -= n


class SortedPairs:
    """Add pairs, then ``freeze()`` and ask ``find(key)``: the value of the key's first pair."""

    def __init__(self, *, limit: int | None = None) -> None:
        self._limit = LIMIT if limit is None else limit  # (read when made: a test may lower it)
        self._buffer: list[tuple[int, int]] = []
        self._runs: list[tuple[array[int], array[int]]] = []  # in memory, sorted
        self._spilled: list[tuple[IO[bytes], int]] = []  # scratch files, sorted
        self._count = 0
        # once frozen: arrays in memory, or the merged file and its fences
        self._keys: array[int] = array("q")
        self._values: array[int] = array("H")
        self._file: IO[bytes] | None = None
        self._fences: array[int] = array("q")
        self._frozen = False
        self._closed = False

    def __len__(self) -> int:
        return self._count

    @property
    def spilled(self) -> bool:
        """Whether the pairs live in a scratch file rather than in memory."""
        return bool(self._spilled) or self._file is not None

    def add(self, key: int, value: int) -> None:
        """One more pair (before ``freeze``)."""
        self._buffer.append((key, value))
        self._count += 1
        if len(self._buffer) >= RUN:
            self._end_run()

    def _end_run(self) -> None:
        if not self._buffer:
            return
        run = sorted(self._buffer)
        self._buffer = []
        keys = array("q", (k for k, _v in run))
        values = array("H", (v for _k, v in run))
        self._runs.append((keys, values))
        if self._spilled or self._count > self._limit:
            for keys, values in self._runs:
                self._spill(keys, values)
            self._runs = []

    def _spill(self, keys: array[int], values: array[int]) -> None:
        fh = tempfile.TemporaryFile()  # noqa: SIM115 - kept open past this call; anonymous
        for at in range(0, len(keys), BLOCK):
            fh.write(keys[at : at + BLOCK].tobytes())
            fh.write(values[at : at + BLOCK].tobytes())
        self._spilled.append((fh, len(keys)))

    def freeze(self) -> SortedPairs:
        """Sort and merge what was added; no ``add`` after it."""
        if self._frozen:
            return self
        self._end_run()
        self._frozen = True
        if not self._spilled:
            self._merge_in_memory()
        else:
            self._merge_to_file()
        return self

    def _merge_in_memory(self) -> None:
        if len(self._runs) == 1:
            self._keys, self._values = self._runs[0]
        elif self._runs:
            for key, value in heapq.merge(*(zip(k, v, strict=True) for k, v in self._runs)):
                self._keys.append(key)
                self._values.append(value)
        self._runs = []

    def _merge_to_file(self) -> None:
        out = tempfile.TemporaryFile()  # noqa: SIM115 - the index's file until close()
        keys, values = array("q"), array("H")
        merged = heapq.merge(*(_run_pairs(fh, n) for fh, n in self._spilled))
        for key, value in merged:
            keys.append(key)
            values.append(value)
            if len(keys) == BLOCK:
                self._write_block(out, keys, values)
                keys, values = array("q"), array("H")
        if keys:
            self._write_block(out, keys, values)
        for fh, _n in self._spilled:
            fh.close()
        self._spilled = []
        out.flush()
        self._file = out

    def _write_block(self, out: IO[bytes], keys: array[int], values: array[int]) -> None:
        self._fences.append(keys[0])
        keys.extend([0] * (BLOCK - len(keys)))  # the last block padded to the fixed size
        values.extend([0] * (BLOCK - len(values)))
        out.write(keys.tobytes())
        out.write(values.tobytes())

    def _in_block(self, index: int, key: int) -> int | None:
        """``key``'s first value in block ``index``; -1 when every key there is smaller,
        None when a larger key comes first (then no pair has it). One read, no copy."""
        assert self._file is not None
        raw = memoryview(os.pread(self._file.fileno(), _SIZE, index * _SIZE))
        keys = raw[:_KEYS].cast("q")
        n = min(BLOCK, self._count - index * BLOCK)  # (the last block's padding is not ours)
        at = bisect_left(keys, key, 0, n)
        if at == n:
            return -1
        return int(raw[_KEYS:].cast("H")[at]) if keys[at] == key else None

    def find(self, key: int) -> int | None:
        """The value of ``key``'s first pair, None when no pair has that key."""
        if not self._frozen or self._closed:
            raise RuntimeError("SortedPairs.find before freeze() or after close()")
        if self._file is None:
            at = bisect_left(self._keys, key)
            if at < len(self._keys) and self._keys[at] == key:
                return self._values[at]
            return None
        # the first block whose first key is >= key; the first such pair may end the one before
        index = bisect_left(self._fences, key)
        if index > 0:
            found = self._in_block(index - 1, key)
            if found != -1:
                return found
        if index < len(self._fences) and self._fences[index] == key:
            return self._in_block(index, key)
        return None

    def close(self) -> None:
        """Give the scratch files back (also done when the object is collected)."""
        self._closed = True
        if self._file is not None:
            self._file.close()
            self._file = None
        for fh, _n in self._spilled:
            fh.close()
        self._spilled = []
