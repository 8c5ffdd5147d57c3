"""The harnesses of the built-in channel kinds, for the shipped contract suite.

Each harness (see ``paychannels.testing.Harness``) starts its channel's peer (the memory device,
a terminal simulator on TCP or a pty, a provider simulator over HTTP, a bank simulator on files).
Each channel kind adds a module to this package with a ``HARNESSES`` dict; the shipped suite
(``paychannels.testing.suite``) then runs against it unchanged.
"""

from __future__ import annotations

import importlib
import pkgutil

from paychannels.testing import BEHAVIOURS, Harness

__all__ = ["BEHAVIOURS", "Harness", "all_harnesses"]


def all_harnesses() -> dict[str, type[Harness]]:
    """Every harness: each module of this package contributes its ``HARNESSES`` dict."""
    found: dict[str, type[Harness]] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        found.update(getattr(module, "HARNESSES", {}))
    return found
