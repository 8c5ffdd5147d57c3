"""``paychannels config check``: read ``paychannels.toml`` (``--config`` or
``$PAYCHANNELS_CONFIG``) and show what it describes, secrets as where they come from, never
their values; ``--open`` also opens the journal (never creating or migrating it) and every
channel. Exit status 0 when the file is sound, 2 with the file, line and key of a mistake.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from paychannels.console.commands import deferred

__all__ = ["register"]


def register(sub: Any, default_db: Callable[[], str]) -> None:
    """Add the ``config`` command group (its journal is the file's: ``default_db`` unused)."""
    del default_db
    group = sub.add_parser("config", help="check the deployment's paychannels.toml")
    actions = group.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    p = actions.add_parser(
        "check",
        help="read the config file and show what it describes (no secret values)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--open",
        action="store_true",
        help="also open the journal (not created, not migrated) and every channel",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=deferred("paychannels.cli.config_actions", "check"))
