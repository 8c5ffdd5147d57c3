"""``paychannels demo``: a whole collection day against the simulators, ending in a
reconciliation. Every channel of a county takes part:

  hall-1     ZVT terminal over TCP (county service hall)
  hall-2     ZVT terminal on a serial line (township service station)
  hall-3     MIS-POS bank terminal on a serial line (township hall)
  field-1    cloud POS (nexo over HTTP, a village assistant's smart terminal)
  wx, ali    WeChat Pay v3 and Alipay (QR code orders the payer confirms)
  wx-codes   WeChat Pay 付款码 and Alipay 条码支付 (payment codes village
  ali-codes  assistants scan)
  bank       bank batch debit (pain.008 / camt.054)

with faults injected (timeouts, lost answers, duplicate and forged callbacks, a backend
killed mid-payment, failed and partial debits resubmitted), then settled, reconciled and
checked against each simulator's own ledger.

Needs nothing but this package: the journal is an embedded SQLite file, the simulators run
on 127.0.0.1. A big day goes to an empty PostgreSQL (--db) and can be collected by several
worker processes (--workers N), each taking whole channels. Exit status 0 only when the day
balances: every payer accounted for, nothing lost or taken twice; 1 when it does not. See
docs/demo.md.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from paychannels.values.errors import ConfigurationError

__all__ = ["MAX_PAYERS", "TAMPERING", "register"]

MAX_PAYERS = 300_000
#: ``paychannels.demo.tamper.TAMPERING``, spelled out here so that ``--help`` does not load the
#: demo and its simulators (tests/unit/test_cli_startup.py checks the two agree)
TAMPERING = ("journal", "terminal")


def register(sub: Any, default_db: Callable[[], str]) -> None:
    """Add the ``demo`` command (its journal is its own: ``default_db`` is not used)."""
    del default_db
    p = sub.add_parser(
        "demo",
        help="a whole collection day against the simulators, reconciled",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--payers", type=int, default=3000, help=f"payers (default 3000, up to {MAX_PAYERS:,})"
    )
    p.add_argument("--seed", type=int, default=2026, help="same seed, same day")
    p.add_argument("--out", type=Path, help="workspace folder (kept); default: a temporary one")
    p.add_argument(
        "--keep", action="store_true", help="keep the workspace: journal, reports, notices"
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument(
        "--db",
        help="the journal: an empty PostgreSQL (a new schema) for a big day; "
        "default: an embedded SQLite file in the workspace",
    )
    p.add_argument(
        "--workers",
        type=int,
        help="collect in N worker processes, whole channels each (N > 1 needs --db postgresql://…)",
    )
    p.add_argument(
        "--tamper",
        choices=TAMPERING,
        help="spoil the day on purpose before it settles, to see the verdict fail",
    )
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    # the demo and its simulators load only when the demo runs
    from paychannels.demo.run import DemoOptions, run_demo
    from paychannels.demo.summary import summary_text

    if not 10 <= args.payers <= MAX_PAYERS:
        raise ConfigurationError(f"--payers must be between 10 and {MAX_PAYERS:,}")
    summary = run_demo(
        DemoOptions(
            payers=args.payers,
            seed=args.seed,
            folder=args.out,
            keep=args.keep,
            tamper=args.tamper,
            stopping=getattr(args, "stopping", None),
            db=args.db,
            workers=args.workers,
        )
    )
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        print(summary_text(summary))
    return 0 if summary["balanced"] else 1
