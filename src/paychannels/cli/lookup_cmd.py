"""``paychannels lookup --roster R | --index F --db URL``: the payer's own check (信息查询比对).

Reads the ID number and the name from standard input (two lines; asked for on a terminal),
never from the command line, where they would stay in the shell's history and in ``ps``.
Prints the payer's obligations masked, in Chinese and Mongolian, or ``--json`` as the web
endpoint answers. ``--write-index OUT`` builds the index a web server loads instead of the
roster (keyed digests only; needs ``PAYCHANNELS_LOOKUP_KEY``). docs/lookup.md has the rules.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from paychannels.console.commands import deferred

__all__ = ["register"]


def register(sub: Any, default_db: Callable[[], str]) -> None:
    """Add the ``lookup`` command."""
    p = sub.add_parser(
        "lookup",
        help="a payer's own check: obligations and payments by ID number and name (masked)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--roster", type=Path, help="the roster (docs/roster.md)")
    source.add_argument("--index", type=Path, help="an index made with --write-index")
    p.add_argument("--db", help="journal URL (default: $PAYCHANNELS_DB)")
    p.add_argument("--zone", default="Asia/Shanghai", help="the county's time zone")
    p.add_argument("--json", action="store_true", help="the answer as the endpoint sends it")
    p.add_argument(
        "--write-index", type=Path, metavar="OUT", help="write the lookup index of --roster"
    )
    p.set_defaults(
        handler=deferred("paychannels.cli.lookup_actions", "lookup"), default_db=default_db
    )
