"""The request file's index and the rows seen stay small whatever the file's size.

Up to ``sortedpairs.LIMIT`` pairs they are arrays in memory; past it sorted runs go to
anonymous scratch files, merged into fixed blocks, and memory keeps one key a block. The
answers must be the in-memory ones exactly (duplicates across a block's edge included), and
the memory flat in N (issue 16 item 3: 3,000,000 result rows on PostgreSQL, flat memory —
before, the index grew 10 bytes a debit and the rows seen 8, twice that while merging).
"""

from __future__ import annotations

import random
import tracemalloc

import pytest

from paychannels.channels.bank import sortedpairs
from paychannels.channels.bank.members import Members, RefSet
from paychannels.channels.bank.sortedpairs import BLOCK, RUN, SortedPairs


def _pairs(n: int, seed: int) -> list[tuple[int, int]]:
    rnd = random.Random(seed)
    out = [(rnd.randrange(-(2**63), 2**63), rnd.randrange(0, 2**16)) for _ in range(n)]
    # a key repeated across a block's edge, the extremes, and repeats with other values
    out += [(12345, 7 + i % 3) for i in range(3 * BLOCK)]
    out += [(-(2**63), 1), (2**63 - 1, 2), (0, 3), (0, 0)]
    rnd.shuffle(out)
    return out


@pytest.mark.parametrize(("n", "limit"), [(5_000, 10**9), (5_000, 1_000), (150_000, 1_000)])
def test_answers_are_the_first_pair_of_each_key_in_memory_or_spilled(n: int, limit: int) -> None:
    pairs = _pairs(n, n + limit)
    index = SortedPairs(limit=limit)
    for key, value in pairs:
        index.add(key, value)
    index.freeze()
    assert index.spilled == (len(pairs) > limit)
    assert len(index) == len(pairs)
    first: dict[int, int] = {}
    for key, value in sorted(pairs):
        first.setdefault(key, value)
    for key in [*list(first)[:: max(1, len(first) // 3000)], 12345, 0, -(2**63), 2**63 - 1]:
        assert index.find(key) == first[key], key
    rnd = random.Random(1)
    for _ in range(2000):
        key = rnd.randrange(-(2**63), 2**63)
        assert index.find(key) == first.get(key)
    index.close()


def _peak(build: object) -> int:
    tracemalloc.start()
    try:
        build()  # type: ignore[operator]
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_a_spilled_index_keeps_memory_flat_in_the_number_of_debits() -> None:
    """Three times the debits, the same peak (before: +10 bytes a debit; 14.0 -> 16.7 MB here)."""

    def members(n: int) -> object:
        refs = ((i % 7, f"01JD3M8Q2W5X7Y9Z0A{i:08d}-1") for i in range(n))
        return lambda: Members([f"B{i}" for i in range(7)], refs, limit=RUN)

    small, large = _peak(members(2 * RUN)), _peak(members(6 * RUN))
    # the peak's floor is one run being sorted (a list of tuples); what must not grow is the rest
    per_debit = (large - small) / (4 * RUN)
    assert per_debit < 2, f"peak {small:,} B at {2 * RUN:,}, {large:,} B at {6 * RUN:,}"


def test_a_spilled_index_finds_each_debit_in_its_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """The module's limit is what the ingest uses: lowered, a file spills and answers alike."""
    monkeypatch.setattr(sortedpairs, "LIMIT", 10_000)
    refs = [(i % 3, f"01JD3M8Q2W5X7Y9Z0A{i:08d}-1") for i in range(140_000)]
    members = Members(["B1", "B2", "B3"], iter(refs))
    assert members.spilled and len(members) == 140_000
    assert all(members.batch_of(ref) == f"B{i + 1}" for i, ref in refs[::97])
    assert members.batch_of("01JD3M8Q2W5X7Y9Z0A99999999-1") is None
    seen = RefSet()
    for _i, ref in refs:
        seen.add(ref)
    assert refs[-1][1] in seen and refs[0][1] in seen and "not-a-ref" not in seen
    seen.add("later")  # after the first question: kept aside, still answered
    assert "later" in seen
