"""The built-in channels under the shipped contract suite: one harness per channel kind."""

from __future__ import annotations

from paychannels.testing import harness_fixture
from tests.contract.harnesses import all_harnesses

harness = harness_fixture(all_harnesses())
