"""The suite's fixtures: the harness a driver names, and a Collector on a real SQLite journal."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from paychannels import Collector, ConfigurationError
from paychannels.testing.harness import Harness

__all__ = ["CHANNEL", "collector", "harness_fixture"]

#: the name the suite adds the harness's channel under
CHANNEL = "ch"


def harness_fixture(harnesses: Mapping[str, type[Harness]] | Iterable[type[Harness]]) -> Any:
    """A ``harness`` fixture running the suite once per harness class (test ids: their names).

    Assign it in the test module or a conftest: ``harness = harness_fixture([MyHarness])``.
    """
    if isinstance(harnesses, Mapping):
        by_id = dict(harnesses)
    else:
        by_id = {}
        for cls in harnesses:
            if cls.name in by_id:
                raise ConfigurationError(f"two contract harnesses are named {cls.name!r}")
            by_id[cls.name] = cls
    if not by_id:
        raise ConfigurationError("harness_fixture needs at least one Harness class")

    @pytest.fixture(params=sorted(by_id))
    def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
        opened = by_id[request.param]()
        try:
            yield opened
        finally:
            opened.close()

    return harness


@pytest.fixture
def collector(harness: Harness, tmp_path: Path) -> Iterator[Collector]:
    """A Collector on a fresh SQLite journal with the harness's channel added as ``CHANNEL``."""
    col = Collector.open(f"sqlite:///{tmp_path}/journal.db", create=True)
    col.add_channel(CHANNEL, harness.open())
    try:
        yield col
    finally:
        col.close()
