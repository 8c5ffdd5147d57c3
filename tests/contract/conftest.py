"""The built-in channels under the shipped contract suite: one harness per channel kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from paychannels.testing import harness_fixture
from tests.contract.harnesses import all_harnesses

harness = harness_fixture(all_harnesses())

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The suite over a pty is slow (real serial timers, ~1-2 s a test in doubt): ZVT stays in
    the fast loop over TCP, MIS-POS through tests/mispos."""
    for item in items:
        params = getattr(item, "callspec", None)
        if (
            params is not None
            and item.path.is_relative_to(_HERE)
            and "+serial" in str(params.params.get("harness", ""))
        ):
            item.add_marker(pytest.mark.slow)
