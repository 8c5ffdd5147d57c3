"""Which debits a sent request file held, kept small enough for a file of millions.

A result file's row must be a debit of the request file (and batch) it names. The archive
holds that file's spool lines; the index keeps only a 64-bit keyed digest of each end-to-end
id (Python's ``hash`` of a string: SipHash with a per-process random key, so no bank file can
be made to collide on purpose) and the batch's number, in sorted arrays: 10 bytes a debit
instead of a dictionary of strings (~150 bytes), and no ``Debit`` built per line; sorted in
runs and merged, so no list of every debit is built even while sorting — and past
``sortedpairs.LIMIT`` debits kept in a scratch file, so memory stays flat in the file's
size. Lines are read for their end-to-end id alone (the spool writes it first); any other
shape is parsed as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from paychannels.channels.bank.sortedpairs import SortedPairs

__all__ = ["Members", "RefSet", "archived_refs"]

_HEAD = b'{"e":"'
_CANCEL = b'{"x":'


def _ref(raw: bytes) -> str | None:
    """The end-to-end id of a debit line, None for a cancel line."""
    if raw.startswith(_HEAD):
        end = raw.find(b'"', len(_HEAD))
        ref = raw[len(_HEAD) : end]
        if end > 0 and b"\\" not in ref:
            return ref.decode("utf-8")
    if raw.startswith(_CANCEL):
        return None
    record = json.loads(raw)
    return None if "x" in record else str(record["e"])


def _cancelled(path: Path) -> set[str]:
    out: set[str] = set()
    with open(path, "rb") as fh:
        for raw in fh:
            if raw.startswith(_CANCEL) and raw.endswith(b"\n"):
                out.add(str(json.loads(raw)["x"]))
    return out


def archived_refs(path: Path, entry: dict[str, Any]) -> Iterator[tuple[int, str]]:
    """(batch number, end-to-end id) of each debit a sent file held, from its archive.

    The same debits as ``flush.archived_batches``: from the entry's byte ``offset`` (skipping
    its ``skip`` list) when it has one, else the spool's non-cancelled debits counted from the
    start; torn lines are ignored as the spool's readers ignore them."""
    batches = entry["batches"]
    offset = entry.get("offset")
    first = 0 if offset is not None else int(batches[0][1])
    skip = set(entry.get("skip") or ()) if offset is not None else _cancelled(path)
    counts = [int(b[2]) for b in batches]
    index, left, seen = 0, counts[0] if counts else 0, 0
    with open(path, "rb") as fh:
        fh.seek(offset or 0)
        for raw in fh:
            if not raw.endswith(b"\n"):
                continue
            ref = _ref(raw)
            if ref is None or ref in skip:
                continue
            seen += 1
            if seen <= first:
                continue
            while left == 0:
                index += 1
                if index >= len(counts):
                    return
                left = counts[index]
            left -= 1
            yield index, ref


class RefSet:
    """A set of references, a 64-bit digest each (in memory up to ``sortedpairs.LIMIT``, then in a
    scratch file: ``SortedPairs``); once asked about, later additions (a status for the
    unlisted debits, the rare path) are kept as they are, so asking never sorts again."""

    def __init__(self, *, limit: int | None = None) -> None:
        self._digests = SortedPairs(limit=limit)
        self._asked = False
        self._later: set[str] = set()

    def add(self, ref: str) -> None:
        """Remember ``ref``."""
        if not self._asked:
            self._digests.add(hash(ref), 0)
        else:
            self._later.add(ref)

    def __contains__(self, ref: object) -> bool:
        if not self._asked:
            self._digests.freeze()
            self._asked = True
        if ref in self._later:
            return True
        return self._digests.find(hash(ref)) is not None


class Members:
    """The debits of one sent file: its end-to-end ids and the batch each is in."""

    def __init__(
        self, batch_ids: list[str], refs: Iterable[tuple[int, str]], *, limit: int | None = None
    ) -> None:
        self.batch_ids = batch_ids
        self._index = SortedPairs(limit=limit)
        for index, ref in refs:
            self._index.add(hash(ref), index)
        self._index.freeze()

    @classmethod
    def of(cls, path: Path, entry: dict[str, Any]) -> Members:
        """The members of the file ``entry`` describes, read from its archive ``path``."""
        batch_ids = [str(b[0]) for b in entry["batches"]]
        if len(batch_ids) > 0xFFFF:
            raise ValueError(f"{entry['msg_id']}: more batches than one index can number")
        return cls(batch_ids, archived_refs(path, entry))

    def batch_of(self, ref: str) -> str | None:
        """The batch id of the debit ``ref``, or None when the file did not hold it."""
        number = self._index.find(hash(ref))
        return None if number is None else self.batch_ids[number]

    def __len__(self) -> int:
        return len(self._index)

    @property
    def spilled(self) -> bool:
        """Whether the index lives in a scratch file (more than ``sortedpairs.LIMIT`` debits)."""
        return self._index.spilled
