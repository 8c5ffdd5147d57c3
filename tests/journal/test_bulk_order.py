"""``collect_many`` writes about the same bytes whatever order its requests come in: in
the caller's order (a roster by village lists payers scattered) every chunk's commit
rewrote nearly every page of the journal's payer indexes (issue 16). The Collector journals
a bulk call in the indexes' order and answers in the caller's."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from paychannels import Collector, Money, PaymentRequest, Status
from tests.procio import io_count

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/io"),
]

N = 12000


def _requests(order: list[int]) -> list[PaymentRequest]:
    return [
        PaymentRequest(
            payer_id=f"1504221990{i * 7919 % 1_000_000:06d}{i % 100:02d}",
            amount=Money("380.00", "CNY"),
            reference=f"2026-{i}",
            idempotency_key=f"bulk-{i}",
        )
        for i in order
    ]


def _collect(folder: Path, requests: list[PaymentRequest]) -> tuple[int, list[str]]:
    folder.mkdir()
    with Collector.open(f"sqlite:///{folder}/j.db", create=True) as col:
        col.add_channel("m", "memory://")
        before = io_count("write_bytes")
        done = col.collect_many(requests, "m", defer=True)
        written = io_count("write_bytes") - before
    keys = []
    for p in done:
        assert not isinstance(p, Exception) and p.status is Status.CREATED
        keys.append(p.idempotency_key)
    return written, keys


def test_a_scattered_bulk_call_costs_no_more_writes_than_a_sorted_one(tmp_path: Path) -> None:
    order = list(range(N))
    random.Random(7).shuffle(order)
    scattered = _requests(order)
    by_payer = sorted(scattered, key=lambda r: (r.payer_id, r.reference))
    as_given, keys = _collect(tmp_path / "scattered", scattered)
    assert keys == [r.idempotency_key for r in scattered]  # answered in the caller's order
    ordered, _ = _collect(tmp_path / "sorted", by_payer)
    assert as_given < 1.15 * ordered, (as_given, ordered)
