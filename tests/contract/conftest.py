"""Fixtures of the channel contract suite: one harness per channel kind, a real journal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from paychannels import Collector
from tests.contract.harnesses import Harness, all_harnesses

CHANNEL = "ch"


HARNESSES = all_harnesses()


@pytest.fixture(params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    h = HARNESSES[request.param]()
    try:
        yield h
    finally:
        h.close()


@pytest.fixture
def collector(harness: Harness, tmp_path: Path) -> Iterator[Collector]:
    col = Collector.open(f"sqlite:///{tmp_path}/journal.db", create=True)
    col.add_channel(CHANNEL, harness.open())
    try:
        yield col
    finally:
        col.close()
