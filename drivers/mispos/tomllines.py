"""Where a key sits in a TOML file: now ``paychannels.configfile.KeyLines`` for every file kind.

Kept so that ``from paychannels.drivers.mispos.tomllines import KeyLines`` still works.
"""

from __future__ import annotations

from paychannels.configfile import KeyLines

__all__ = ["KeyLines"]
