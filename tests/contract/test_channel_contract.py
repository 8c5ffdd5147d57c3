"""The shipped channel contract (``paychannels.testing.suite``) against every built-in channel.

The tests are the library's own, exactly as an outside driver runs them; the ``harness``
fixture (conftest.py) brings the built-in channel kinds.
"""

from __future__ import annotations

from paychannels.testing.suite import *  # noqa: F403
