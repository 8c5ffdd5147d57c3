"""Every command's ``--config PATH`` (or ``$PAYCHANNELS_CONFIG``), resolved in one place.

Each setting comes from the most specific place that gives it: the command line (``--db``,
``--zone``, ``--create``), then its environment variable (``$PAYCHANNELS_DB``), then the
config file (``[journal] url`` and ``create``, ``[county] zone``), then the built-in default
(none for the journal; Asia/Shanghai for the zone). ``ConfiguredParser`` gives every parser
of the tree ``--config`` and marks which ``--zone`` was not given; ``configure`` reads the
file (only when one is named: pydantic loads then, not for ``--help``).
"""

from __future__ import annotations

import argparse
import os
from functools import partial
from typing import TYPE_CHECKING, Any

from paychannels.console.usage import Parser
from paychannels.values.errors import ConfigurationError

if TYPE_CHECKING:
    from paychannels.config import Deployment

__all__ = ["CONFIG_ENV", "DB_ENV", "ConfiguredParser", "configure", "journal_url"]

#: the same as ``paychannels.config.CONFIG_ENV`` (not imported: ``--help`` stays light)
CONFIG_ENV = "PAYCHANNELS_CONFIG"
DB_ENV = "PAYCHANNELS_DB"
_CONFIG_HELP = (
    "paychannels.toml: journal, county zone, channels (default: $PAYCHANNELS_CONFIG); "
    "--db and $PAYCHANNELS_DB win over its [journal] url, --zone over its [county] zone"
)

_DB_HELP = "journal URL (default: $PAYCHANNELS_DB, else [journal] url of --config)"


class ConfiguredParser(Parser):
    """A ``Parser`` whose every command takes ``--config``; its sub-parsers are of this type
    too, so one choice at the root covers the tree."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # SUPPRESS: a level that is not given leaves the value of another level alone
        super().add_argument(
            "--config", metavar="PATH", default=argparse.SUPPRESS, help=_CONFIG_HELP
        )

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        """``--zone``: not given is None (the file's zone may fill it, else the default)."""
        if "--zone" in args:
            self.set_defaults(builtin_zone=kwargs.get("default"))
            kwargs["default"] = None
        if "--db" in args:
            kwargs["help"] = (
                "journal URL (default: $PAYCHANNELS_DB, else [journal] url of --config)"
            )
        return super().add_argument(*args, **kwargs)


def configure(args: argparse.Namespace) -> Deployment | None:
    """Read the named config file into ``args`` (``args.deployment``, the journal's and the
    zone's defaults); None when no file is named."""
    path = getattr(args, "config", None) or os.environ.get(CONFIG_ENV, "").strip() or None
    deployment = None
    if path is not None:
        from paychannels.config import load_config

        deployment = load_config(path)
    args.deployment = deployment
    if "default_db" in args:
        args.default_db = partial(journal_url, deployment)
    if "builtin_zone" in args and args.zone is None:
        args.zone = deployment.zone if deployment is not None else args.builtin_zone
    if getattr(args, "create", None) is False and _journal_from_file(args, deployment):
        assert deployment is not None and deployment.journal is not None
        args.create = deployment.journal.create
    return deployment


def journal_url(deployment: Deployment | None) -> str:
    """The journal when ``--db`` is not given: ``$PAYCHANNELS_DB``, else the file's."""
    url = os.environ.get(DB_ENV, "").strip()
    if url:
        return url
    if deployment is not None:
        return deployment.journal_settings().reveal()
    raise ConfigurationError(
        "no journal given: pass --db URL, set PAYCHANNELS_DB, or name a config file with "
        "[journal] url (--config PATH or PAYCHANNELS_CONFIG)"
    )


def _journal_from_file(args: argparse.Namespace, deployment: Deployment | None) -> bool:
    return (
        deployment is not None
        and deployment.journal is not None
        and getattr(args, "db", None) is None
        and not os.environ.get(DB_ENV, "").strip()
    )
