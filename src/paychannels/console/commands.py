"""How a command line finds its commands and loads a command's work only when it runs.

A ``*_cmd`` module declares its arguments with argparse and light constants only; what the
command does lives in a module imported when the command runs (:func:`deferred`, or an import
inside a one-function handler). So ``--help`` and ``--version`` load neither the collector
nor the drivers, the simulators or the demo. Shared by ``paychannels`` and ``paychannels-sim``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType
from typing import Any

__all__ = ["Deferred", "Handler", "VersionAction", "command_modules", "deferred"]

Handler = Callable[[argparse.Namespace], int]


def command_modules(package: ModuleType) -> Iterator[ModuleType]:
    """The ``*_cmd`` modules of a package, in name order."""
    for name in sorted(_module_names(package)):
        if name.endswith("_cmd"):
            yield importlib.import_module(f"{package.__name__}.{name}")


def _module_names(package: ModuleType) -> set[str]:
    """The modules of a package: its folders listed, or pkgutil's walk when it is not in one
    (a zip); pkgutil loads ``inspect``, a good part of the start-up, for the common case."""
    names: set[str] = set()
    for folder in package.__path__:
        if not os.path.isdir(folder):
            import pkgutil

            return {info.name for info in pkgutil.iter_modules(package.__path__)}
        names.update(n.removesuffix(".py") for n in os.listdir(folder) if n.endswith(".py"))
    return names


class VersionAction(argparse.Action):
    """``--version``: reads the installed version only when asked (argparse's own ``version``
    action needs it while the parser is built, that is on every start)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS) -> None:
        super().__init__(
            option_strings,
            dest=dest,
            default=argparse.SUPPRESS,
            nargs=0,
            help="show program's version number and exit",
        )

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        from paychannels._version import __version__

        print(f"{parser.prog} {__version__}", file=sys.stdout)
        parser.exit()


class Deferred:
    """A command's handler ``module.name``, imported the first time the command runs."""

    __slots__ = ("module", "name")

    def __init__(self, module: str, name: str) -> None:
        self.module = module
        self.name = name

    def resolve(self) -> Handler:
        """The handler itself (importing its module now)."""
        function: Handler = getattr(importlib.import_module(self.module), self.name)
        return function

    def __call__(self, args: argparse.Namespace) -> int:
        return self.resolve()(args)

    def __repr__(self) -> str:
        return f"Deferred({self.module}.{self.name})"


def deferred(module: str, name: str) -> Deferred:
    """The handler ``module.name``, imported the first time the command runs."""
    return Deferred(module, name)
