"""The channel contract kit: the suite every channel passes, shipped so an outside driver can too.

Like alembic's ``alembic.testing.suite``: a driver package writes one ``Harness`` (open its
channel, script its device, read the device's ledger) and one test module::

    from paychannels.testing import harness_fixture
    from paychannels.testing.suite import *  # noqa: F403

    harness = harness_fixture([MyDeviceHarness])

then runs it with pytest. The built-in channels run the very same suite (``tests/contract``).
This package imports pytest, so it needs ``pip install 'paychannels[testing]'``;
``import paychannels`` never imports it.
"""

from __future__ import annotations

try:
    import pytest  # noqa: F401 - fail here, politely, when the extra is missing
except ImportError as missing:
    raise ImportError(
        "paychannels.testing runs the contract suite under pytest: "
        "pip install 'paychannels[testing]'"
    ) from missing

from paychannels.testing.fixtures import CHANNEL, harness_fixture
from paychannels.testing.harness import BEHAVIOURS, Harness

__all__ = ["BEHAVIOURS", "CHANNEL", "Harness", "harness_fixture"]
