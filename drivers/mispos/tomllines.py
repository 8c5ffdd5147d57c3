"""Where a key sits in a TOML file: now ``paychannels.values.configfile.KeyLines`` (every kind).

Kept so that ``from paychannels.drivers.mispos.tomllines import KeyLines`` still works.
"""

from __future__ import annotations

from paychannels.values.configfile import KeyLines

__all__ = ["KeyLines"]
