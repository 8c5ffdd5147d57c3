"""``plan_files`` cuts amounts into batches and files a chunk of amounts at a time; it must
plan exactly what the amount-by-amount loop planned (kept here as the reference), for any
limits, and refuse a non-integer amount with the same TypeError."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paychannels.bankfiles.model import BatchSpan
from paychannels.bankfiles.split import Limits, plan_files

DAYS = [date(2026, 3, 3), date(2026, 3, 4)]


def reference(groups: Iterable[tuple[date, str, Iterable[int]]], limits: Limits) -> object:
    """The plan as the amount-by-amount loop made it (before the chunked one)."""
    files: list[list[BatchSpan]] = []
    current: list[BatchSpan] = []
    rows = 0
    for gi, (when, sequence, amounts) in enumerate(groups):
        start = count = total = 0
        for amount in amounts:
            batch_full = limits.rows_per_batch and count >= limits.rows_per_batch
            file_full = limits.rows_per_file and rows + count >= limits.rows_per_file
            if count and (batch_full or file_full):
                current.append(BatchSpan(gi, start, count, total, when, sequence))
                rows += count
                if (limits.rows_per_file and rows >= limits.rows_per_file) or (
                    limits.batches_per_file and len(current) >= limits.batches_per_file
                ):
                    files.append(current)
                    current, rows = [], 0
                start, count, total = start + count, 0, 0
            count += 1
            total += amount
        if count:
            current.append(BatchSpan(gi, start, count, total, when, sequence))
            rows += count
            if (limits.rows_per_file and rows >= limits.rows_per_file) or (
                limits.batches_per_file and len(current) >= limits.batches_per_file
            ):
                files.append(current)
                current, rows = [], 0
    if current:
        files.append(current)
    return files


@settings(max_examples=150, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 6000), min_size=1, max_size=3),
    rows_per_file=st.sampled_from([0, 1, 2, 7, 2048, 2049, 5000]),
    batches_per_file=st.sampled_from([0, 1, 2, 3]),
    rows_per_batch=st.sampled_from([0, 1, 3, 1000, 2048, 4097]),
)
def test_the_chunked_plan_is_the_amount_by_amount_plan(
    sizes: list[int], rows_per_file: int, batches_per_file: int, rows_per_batch: int
) -> None:
    limits = Limits(rows_per_file, batches_per_file, rows_per_batch)
    groups = [
        (DAYS[i % 2], "RCUR", [1 + (i * 7 + j) % 997 for j in range(n)])
        for i, n in enumerate(sizes)
    ]
    lazy = [(day, seq, iter(amounts)) for day, seq, amounts in groups]  # generators too
    assert plan_files(lazy, limits) == reference(groups, limits)


@pytest.mark.parametrize("bad", [2.5, True, "3", None])
def test_an_amount_that_is_not_an_int_is_a_type_error(bad: object) -> None:
    amounts = [100] * 5000
    amounts[4321] = bad  # type: ignore[call-overload]
    with pytest.raises(TypeError, match=f"integer minor units, not {type(bad).__name__}"):
        plan_files([(DAYS[0], "RCUR", amounts)], Limits(rows_per_batch=1000))
