"""``paychannels``: the library's command line.

Each command group is a module ``paychannels.cli.<name>_cmd`` with a ``register(sub,
default_db)`` function; this module finds them, so adding a command touches no shared file.
A ``*_cmd`` module only declares arguments: what a command does is imported when it runs
(``paychannels.console.commands``), so ``--help`` and ``--version`` start in a blink.
User mistakes (a bad URL, an unreachable database) print one readable line and exit 2;
``--debug`` shows the traceback. Machine-readable output with ``--json``. Ctrl-C and SIGTERM
end any command cleanly with 130 / 143 (``paychannels.console.interrupt``); a command registers
what a signal must close or remove with ``args.stopping``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING

import paychannels.cli
from paychannels.cli.configured import ConfiguredParser, configure, journal_url
from paychannels.console.commands import VersionAction, command_modules
from paychannels.console.interrupt import Stopping, catching, run
from paychannels.console.usage import reader_gone
from paychannels.values.errors import PaychannelsError

if TYPE_CHECKING:
    from paychannels.runtime.clock import Clock

__all__ = ["build_parser", "main"]

EXIT_USER_ERROR = 2
EXIT_INTERNAL = 70


def default_db() -> str:
    """The journal URL used when ``--db`` is not given: $PAYCHANNELS_DB, else an error
    (``configure`` puts the config file's after the variable, see ``cli.configured``).

    There is no default file: a command run in the wrong folder must not read (or start) a
    journal that happens to be there.
    """
    return journal_url(None)


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree."""
    parser = ConfiguredParser(
        prog="paychannels",
        description="Collect payments through terminals, mobile apps and bank batch debit.",
    )
    parser.add_argument("--version", action=VersionAction)
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    parser.add_argument(
        "--log-level",
        choices=("debug", "info", "warning", "error"),
        help="the library's log lines from this level on (default warning; info: one line "
        "per channel verb)",
    )
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="log lines as text, or one JSON object per line for a log shipper",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in command_modules(paychannels.cli):
        module.register(sub, default_db)
    return parser


def main(argv: Sequence[str] | None = None, *, clock: Clock | None = None) -> int:
    """Entry point of the ``paychannels`` console script; ``clock`` (default: the system's)
    is where commands read the time, for the county's date on what they write."""
    stopping = Stopping()
    # from the start: loading the commands takes a moment; run as a script (no argv),
    # the handlers stay until the process has exited
    with catching(stopping, restore=argv is not None):
        try:
            return _main(argv, stopping, clock)
        except BrokenPipeError:  # ``paychannels … | head``: the reader has all it wanted
            return reader_gone()


def _main(argv: Sequence[str] | None, stopping: Stopping, clock: Clock | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from paychannels.observe import logs

    logs.configure(args.log_level or ("debug" if args.debug else "warning"), args.log_format)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USER_ERROR
    args.stopping = stopping
    args.clock = clock  # None: the system clock, loaded by the command that reads it
    try:
        configure(args)  # --config / $PAYCHANNELS_CONFIG: the journal's and zone's defaults
        return run(partial(handler, args), stopping, prog="paychannels")
    except PaychannelsError as exc:
        if args.debug:
            raise
        print(f"paychannels: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("paychannels: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return reader_gone()
    except Exception as exc:
        if args.debug:
            raise
        print(
            f"paychannels: internal error: {type(exc).__name__}: {exc} (run with --debug for "
            "the traceback and report it)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
