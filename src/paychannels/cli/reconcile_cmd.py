"""``paychannels reconcile --roster R --db URL``: owed against received, checked against the
channels' own figures; a summary table, CSV files and an HTML report.

With ``--statement FILE`` (repeatable) each channel's settlements are also matched to the
collection account's credits: arrived in full, short, late, missing, unexplained.

Exit status: 0 when the day balances (and, with statements, everything arrived in full and
on time), 1 when it does not (the summary says why), 2 for a mistake in the command, a
roster with problems (every problem listed) or a statement that cannot be taken.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from paychannels.cli.reconcile_inputs import add_inputs, reconcile_inputs

__all__ = ["register"]


def register(sub: Any, default_db: Callable[[], str]) -> None:
    """Add the ``reconcile`` command."""
    p = sub.add_parser(
        "reconcile",
        help="compare the roster with the journal and the channels' settlement figures",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_inputs(p, default_db)
    p.add_argument(
        "--out",
        type=Path,
        help="folder for report.html, details.csv, attention.csv, summary.json "
        "(default: ./reconciliation-<date>-<time>)",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument(
        "--call-out-below",
        type=_percent,
        default=Decimal(90),
        metavar="PERCENT",
        help="the report names the villages paid below this share, lowest first (default 90)",
    )
    _statement_options(p)
    p.set_defaults(handler=_run)


def _percent(text: str) -> Decimal:
    """A percentage from 0 to 100 (``92.5``)."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"{text[:20]}: a percentage from 0 to 100")
    return value


def _statement_options(p: argparse.ArgumentParser) -> None:
    """The third level: settlements against the collection account's statements."""
    p.add_argument(
        "--statement",
        action="append",
        type=Path,
        metavar="FILE",
        help="the collection account's statement (camt.053, or a bank's text export); "
        "repeat for several days",
    )
    p.add_argument("--account", help="the collection account (default: the first statement's)")
    p.add_argument(
        "--arrival-rules",
        type=Path,
        metavar="TOML",
        help="settlement cycles per channel, calendar, account (docs/reconciliation.md)",
    )
    p.add_argument(
        "--statement-layout",
        default="icbc",
        help="layout of text statements: icbc, ccb or a TOML file (default icbc)",
    )


def _run(args: argparse.Namespace) -> int:
    from paychannels.reconcile.report import summary_text, write_outputs  # when it runs

    rec = reconcile_inputs(args, "reconciling")
    folder = args.out or Path(f"reconciliation-{datetime.now():%Y%m%d-%H%M%S}")
    paths = write_outputs(rec, folder, call_out_below=args.call_out_below)
    if args.json:
        summary = rec.summary()
        summary["files"] = {k: str(v) for k, v in paths.items()}
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        print(summary_text(rec))
        print(f"report: {paths['html']}  details: {paths['details']}", file=sys.stderr)
    return 0 if rec.balanced and rec.in_full_and_on_time is not False else 1
