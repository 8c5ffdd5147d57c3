"""``paychannels journal list|show|migrate|verify|backup|restore|settle``: look into and
maintain a journal."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from paychannels.console.commands import deferred
from paychannels.values.status import Status

__all__ = ["register"]

_ACTIONS = "paychannels.cli.journal_actions"


def register(sub: Any, default_db: Callable[[], str]) -> None:
    """Add the ``journal`` command group to the root parser."""
    journal = sub.add_parser("journal", help="inspect and migrate the payment journal")
    jsub = journal.add_subparsers(dest="journal_command", metavar="ACTION", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--db",
            default=None,
            help="journal URL (default: $PAYCHANNELS_DB; there is no default file)",
        )
        p.add_argument("--json", action="store_true", help="machine-readable output")
        p.set_defaults(default_db=default_db)

    p_list = jsub.add_parser("list", help="list payments and refunds")
    common(p_list)
    p_list.add_argument(
        "--status",
        action="append",
        choices=[s.value for s in Status],
        help="only this status (repeatable)",
    )
    p_list.add_argument("--channel", help="only this channel")
    p_list.add_argument("--payer", help="only this payer id")
    p_list.add_argument("--attention", action="store_true", help="only flagged for attention")
    shown = p_list.add_mutually_exclusive_group()
    shown.add_argument(
        "--limit", type=int, default=50, metavar="N", help="show the first N (default 50)"
    )
    shown.add_argument("--all", action="store_true", help="show every match")
    p_list.set_defaults(handler=deferred(_ACTIONS, "list_records"))

    p_show = jsub.add_parser("show", help="one payment with all its events")
    common(p_show)
    p_show.add_argument("id", help="payment or refund id")
    p_show.set_defaults(handler=deferred(_ACTIONS, "show"))

    p_mig = jsub.add_parser(
        "migrate", help="create a new journal (where none is) or upgrade its schema"
    )
    common(p_mig)
    p_mig.set_defaults(handler=deferred(_ACTIONS, "migrate"))

    p_ver = jsub.add_parser("verify", help="replay events and compare with current states")
    common(p_ver)
    p_ver.set_defaults(handler=deferred(_ACTIONS, "verify"))

    p_back = jsub.add_parser(
        "backup", help="copy a running journal into a file (SQLite backup API, or pg_dump)"
    )
    common(p_back)
    p_back.add_argument("--to", required=True, metavar="FILE", help="the backup file to write")
    p_back.set_defaults(handler=deferred(_ACTIONS, "backup"))

    p_rest = jsub.add_parser(
        "restore", help="put a backup where no journal is (a file copy, or pg_restore)"
    )
    common(p_rest)
    p_rest.add_argument(
        "--from", dest="source", required=True, metavar="FILE", help="the backup file to restore"
    )
    p_rest.set_defaults(handler=deferred(_ACTIONS, "restore"))

    p_settle = jsub.add_parser(
        "settle", help="record a person's decision on a payment that needs attention"
    )
    common(p_settle)
    p_settle.add_argument("id", help="payment or refund id")
    p_settle.add_argument(
        "status", choices=[s.value for s in Status], help="what the channel's own records show"
    )
    p_settle.add_argument("--operator", required=True, help="who decided (kept in the journal)")
    p_settle.add_argument("--note", required=True, help="what was checked (kept in the journal)")
    p_settle.add_argument(
        "--amount-taken", metavar="AMOUNT", help="what was really taken, e.g. 300.00 (SUCCEEDED)"
    )
    p_settle.set_defaults(handler=deferred(_ACTIONS, "settle"))
