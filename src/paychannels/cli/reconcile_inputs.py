"""What ``paychannels reconcile`` and ``paychannels notice`` both start from: a roster and a
journal, read into a reconciliation under a progress bar."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from paychannels.console.progress import Progress
from paychannels.console.usage import encoding_name, zone_name

if TYPE_CHECKING:
    from paychannels.reconcile import Reconciliation
    from paychannels.reconcile.arrivals import ArrivalRules
    from paychannels.runtime.countytime import CountyTime

__all__ = ["add_inputs", "reconcile_inputs"]


def add_inputs(p: argparse.ArgumentParser, default_db: Callable[[], str]) -> None:
    """The roster, journal and roster-reading options (``default_db``: the journal URL when
    ``--db`` is not given)."""
    p.add_argument("--roster", required=True, type=Path, help="roster CSV (docs/roster.md)")
    p.add_argument("--db", default=None, help="journal URL (default: $PAYCHANNELS_DB)")
    p.add_argument(
        "--encoding",
        default="auto",
        type=encoding_name,
        help="roster encoding (auto: UTF-8, else GB18030)",
    )
    p.add_argument(
        "--id-schemes",
        default="cn_resident",
        help="payer id schemes the roster may use, comma-separated (e.g. cn_resident,passport)",
    )
    p.add_argument(
        "--zone",
        type=zone_name,
        default="Asia/Shanghai",
        help="the county's time zone, for dates and times on what is written (Asia/Shanghai)",
    )
    p.set_defaults(default_db=default_db)


def county_time(args: argparse.Namespace) -> CountyTime:
    """The county's clock of a command: ``--zone`` read from the command's clock."""
    from paychannels.runtime.clock import SystemClock
    from paychannels.runtime.countytime import CountyTime

    return CountyTime(args.zone, getattr(args, "clock", None) or SystemClock())


def reconcile_inputs(args: argparse.Namespace, label: str) -> Reconciliation:
    """The reconciliation of ``--roster`` against ``--db``, with a progress bar ``label``."""
    from paychannels.documents.roster import RosterOptions
    from paychannels.reconcile import reconcile  # when a command runs, not for --help

    options = RosterOptions(id_schemes=frozenset(s.strip() for s in args.id_schemes.split(",")))
    statements, rules = _arrival_inputs(args)
    with Progress(label) as bar:
        return reconcile(
            args.db or args.default_db(),
            args.roster,
            encoding=args.encoding,
            options=options,
            progress=bar.advance,
            statements=statements,
            rules=rules,
            statement_layout=getattr(args, "statement_layout", "icbc"),
            county=county_time(args),
        )


def _arrival_inputs(args: argparse.Namespace) -> tuple[list[Path], ArrivalRules | None]:
    """``--statement`` files and the rules they are matched under (reconcile only)."""
    from paychannels.reconcile.arrivals import ArrivalRules, load_arrival_rules

    statements: list[Path] = getattr(args, "statement", None) or []
    if not statements:
        return [], None
    account = getattr(args, "account", None)
    path = getattr(args, "arrival_rules", None)
    if path is not None:
        return statements, load_arrival_rules(path, account=account)
    return statements, ArrivalRules(account=account)
