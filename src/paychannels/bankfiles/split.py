"""Cutting debits into files and batches within a bank's limits, in one cheap first pass.

A file's header carries its totals and each batch's header its own, so a streaming writer
must know them before it writes a single debit. ``plan_files`` reads only the amounts of
each group (one group = one collection date and sequence type), in order, and packs them
into batches of at most ``rows_per_batch`` and files of at most ``rows_per_file`` rows and
``batches_per_file`` batches, a chunk of amounts at a time (typed and summed by C-level
calls, not a Python step per amount). The writer then streams the debits in the same order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from itertools import islice

from paychannels.bankfiles.model import BatchSpan

__all__ = ["Limits", "plan_files"]

_CHUNK = 4096  # amounts checked and summed at a time (C-level), not one by one


@dataclass(frozen=True, slots=True)
class Limits:
    """A bank's limits; ``0`` means none."""

    rows_per_file: int = 0
    batches_per_file: int = 0
    rows_per_batch: int = 0

    def __post_init__(self) -> None:
        for name in ("rows_per_file", "batches_per_file", "rows_per_batch"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be 0 (no limit) or more")


def plan_files(
    groups: Iterable[tuple[date, str, Iterable[int]]], limits: Limits
) -> list[list[BatchSpan]]:
    """The files (each a list of batches) for groups of amounts, in order, each file filled
    up to its limits before the next one starts."""
    files: list[list[BatchSpan]] = []
    current: list[BatchSpan] = []
    rows = 0  # rows in ``current``

    def close(batch: BatchSpan) -> None:
        nonlocal current, rows
        current.append(batch)
        rows += batch.count
        full_rows = limits.rows_per_file and rows >= limits.rows_per_file
        full_batches = limits.batches_per_file and len(current) >= limits.batches_per_file
        if full_rows or full_batches:
            files.append(current)
            current, rows = [], 0

    for gi, (when, sequence, amounts) in enumerate(groups):
        start = count = total = 0
        taken = iter(amounts)
        while True:  # a chunk at a time, never past the open batch's or file's room
            room = _CHUNK
            if limits.rows_per_batch:
                room = min(room, limits.rows_per_batch - count)
            if limits.rows_per_file:
                room = min(room, limits.rows_per_file - rows - count)
            chunk = list(islice(taken, room))
            if not chunk:
                break
            if set(map(type, chunk)) != {int}:
                bad = next(a for a in chunk if type(a) is not int)
                raise TypeError(f"amounts are integer minor units, not {type(bad).__name__}")
            count += len(chunk)
            total += sum(chunk)
            batch_full = limits.rows_per_batch and count >= limits.rows_per_batch
            file_full = limits.rows_per_file and rows + count >= limits.rows_per_file
            if batch_full or file_full:
                close(BatchSpan(gi, start, count, total, when, sequence))
                start, count, total = start + count, 0, 0
        if count:
            close(BatchSpan(gi, start, count, total, when, sequence))
    if current:
        files.append(current)
    return files
