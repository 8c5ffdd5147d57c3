"""``paychannels-sim``: run the simulators (terminal, provider, bank) as programs.

Each simulator has a module ``paychannels.simulators.<name>_cmd`` with ``register(sub)``;
they are found automatically. See ``paychannels-sim --help``. A simulator serves until
SIGINT or SIGTERM (``args.stopping``), then stops and exits 130 / 143.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from functools import partial

import paychannels.simulators
from paychannels.console.commands import VersionAction, command_modules
from paychannels.console.interrupt import Stopping, catching, run
from paychannels.console.usage import Parser

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The simulator command tree."""
    parser = Parser(
        prog="paychannels-sim",
        description="Simulated terminals, payment providers and banks for tests and rehearsals.",
    )
    parser.add_argument("--version", action=VersionAction)
    sub = parser.add_subparsers(dest="command", metavar="SIMULATOR")
    for module in command_modules(paychannels.simulators):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``paychannels-sim`` console script."""
    stopping = Stopping()
    # from the start: loading the simulators takes a moment; run as a script (no argv),
    # the handlers stay until the process has exited
    with catching(stopping, restore=argv is not None):
        return _main(argv, stopping)


def _main(argv: Sequence[str] | None, stopping: Stopping) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    args.stopping = stopping
    return run(partial(handler, args), stopping, prog="paychannels-sim")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
