"""How a command line finds its commands and loads a command's work only when it runs.

A ``*_cmd`` module declares its arguments with argparse and light constants only; what the
command does lives in a module imported when the command runs (:func:`deferred`, or an import
inside a one-function handler). So ``--help`` and ``--version`` load neither the collector
nor the drivers, the simulators or the demo. Shared by ``paychannels`` and ``paychannels-sim``.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from collections.abc import Callable, Iterator
from types import ModuleType

__all__ = ["Handler", "command_modules", "deferred"]

Handler = Callable[[argparse.Namespace], int]


def command_modules(package: ModuleType) -> Iterator[ModuleType]:
    """The ``*_cmd`` modules of a package, in name order."""
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name.endswith("_cmd"):
            yield importlib.import_module(f"{package.__name__}.{info.name}")


def deferred(module: str, name: str) -> Handler:
    """The handler ``module.name``, imported the first time the command runs."""

    def handler(args: argparse.Namespace) -> int:
        function: Handler = getattr(importlib.import_module(module), name)
        return function(args)

    handler.__qualname__ = handler.__name__ = name
    handler.__doc__ = f"Run ``{module}.{name}`` (imported now, not at start-up)."
    return handler
