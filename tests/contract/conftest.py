"""The built-in channels under the shipped contract suite: one harness per channel kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from paychannels.testing import harness_fixture
from tests.contract.harnesses import all_harnesses

harness = harness_fixture(all_harnesses())

_HERE = Path(__file__).parent


#: harnesses whose contract runs are in the fast loop (pytest -m "not slow"): the in-process
#: ones and ZVT over TCP. The others run the suite in the full run only: over a pty it waits
#: on real serial timers, over HTTP each test starts a provider simulator and a receiver
#: (~0.35 s); their channels keep fast tests in tests/mispos, tests/nexo and tests/providers.
FAST_HARNESSES = frozenset({"bank", "memory", "zvt+tcp"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        params = getattr(item, "callspec", None)
        if params is None or not item.path.is_relative_to(_HERE):
            continue
        name = params.params.get("harness")
        if name is not None and name not in FAST_HARNESSES:
            item.add_marker(pytest.mark.slow)
