"""``paychannels reconcile --roster R --db URL``: owed against received, checked against the
channels' own figures; a summary table, CSV files and an HTML report.

Exit status: 0 when the day balances, 1 when it does not (the summary says why), 2 for a
mistake in the command or a roster with problems (every problem listed).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from paychannels.cli.progress import Progress
from paychannels.reconcile import reconcile
from paychannels.reconcile.report import summary_text, write_outputs
from paychannels.roster import RosterOptions

__all__ = ["register"]


def register(sub: Any, default_db: Callable[[], str]) -> None:
    """Add the ``reconcile`` command."""
    p = sub.add_parser(
        "reconcile",
        help="compare the roster with the journal and the channels' settlement figures",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--roster", required=True, type=Path, help="roster CSV (docs/roster.md)")
    p.add_argument("--db", default=None, help="journal URL (default: $PAYCHANNELS_DB)")
    p.add_argument(
        "--out",
        type=Path,
        help="folder for report.html, details.csv, attention.csv, summary.json "
        "(default: ./reconciliation-<date>-<time>)",
    )
    p.add_argument("--encoding", default="auto", help="roster encoding (auto: UTF-8, else GB18030)")
    p.add_argument(
        "--id-schemes",
        default="cn_resident",
        help="payer id schemes the roster may use, comma-separated (e.g. cn_resident,passport)",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(handler=_run, default_db=default_db)


def _run(args: argparse.Namespace) -> int:
    options = RosterOptions(id_schemes=frozenset(s.strip() for s in args.id_schemes.split(",")))
    with Progress("reconciling") as bar:
        rec = reconcile(
            args.db or args.default_db(),
            args.roster,
            encoding=args.encoding,
            options=options,
            progress=bar.advance,
        )
    folder = args.out or Path(f"reconciliation-{datetime.now():%Y%m%d-%H%M%S}")
    paths = write_outputs(rec, folder)
    if args.json:
        summary = rec.summary()
        summary["files"] = {k: str(v) for k, v in paths.items()}
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        print(summary_text(rec))
        print(f"report: {paths['html']}  details: {paths['details']}", file=sys.stderr)
    return 0 if rec.balanced else 1
