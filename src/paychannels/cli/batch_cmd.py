"""``paychannels batch build|ingest|validate|resubmit``: bank batch debit from the command line.

``build`` reads a roster (docs/roster.md), journals one debit per payer who pays by bank
(idempotent: building twice sends nothing twice) and writes the request files into the
exchange folder's outbox; ``ingest`` applies a bank's result file to the journal exactly
once; ``validate`` checks a request file against the official XSD (streaming) and its control
sums; ``resubmit`` sends retryable failures again. Summaries print as text or ``--json``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from paychannels.console.commands import deferred
from paychannels.console.usage import encoding_name

__all__ = ["register"]

_ACTIONS = "paychannels.cli.batch_actions"


def register(sub: Any, default_db: Callable[[], str]) -> None:
    """Add the ``batch`` command group."""
    batch = sub.add_parser("batch", help="bank batch debit: request files, result files")
    bsub = batch.add_subparsers(dest="batch_command", metavar="ACTION", required=True)

    def common(p: argparse.ArgumentParser, *, db: bool = True) -> None:
        if db:
            p.add_argument("--db", default=None, help="journal URL (default: $PAYCHANNELS_DB)")
            p.add_argument("--channel", default="bank", help="channel name in the journal")
        p.add_argument("--json", action="store_true", help="machine-readable summary")
        p.set_defaults(default_db=default_db)

    b = bsub.add_parser("build", help="journal the debits of a roster and write request files")
    common(b)
    b.add_argument(
        "--format",
        required=True,
        help="pain.008.001.08, pain.008.001.02, icbc-fixed, ccb-pipe or a layout .toml",
    )
    b.add_argument("--roster", required=True, type=Path, help="roster CSV (docs/roster.md)")
    b.add_argument("--creditor", required=True, type=Path, help="CREDITOR.toml")
    b.add_argument(
        "--out", required=True, type=Path, help="exchange folder (files go to OUT/outbox)"
    )
    b.add_argument(
        "--encoding",
        default="auto",
        type=encoding_name,
        help="roster encoding (auto: UTF-8, else GB18030)",
    )
    b.add_argument(
        "--all",
        action="store_true",
        help="every payer, not only those whose channels name this channel",
    )
    b.add_argument("--date", help="requested collection date YYYY-MM-DD (moved to a business day)")
    b.add_argument("--rows-per-file", type=int, default=0)
    b.add_argument("--batches-per-file", type=int, default=0)
    b.add_argument("--rows-per-batch", type=int, default=0)
    b.add_argument("--profile", choices=["iso", "sepa"], default="iso")
    b.add_argument(
        "--validate", action="store_true", help="stream-validate each XML file against the XSD"
    )
    b.add_argument(
        "--create",
        action="store_true",
        help="start a new journal if there is none at --db (the first build of a season)",
    )
    b.set_defaults(handler=deferred(_ACTIONS, "build"))

    i = bsub.add_parser("ingest", help="apply a bank's result file to the journal (exactly once)")
    common(i)
    i.add_argument("result", type=Path, help="pain.002, camt.054 or a layout's result file")
    i.set_defaults(handler=deferred(_ACTIONS, "ingest"))

    v = bsub.add_parser(
        "validate", help="check a request file: official XSD (streaming) and control sums"
    )
    common(v, db=False)
    v.add_argument("file", type=Path)
    v.set_defaults(handler=deferred(_ACTIONS, "validate"))

    r = bsub.add_parser("resubmit", help="send retryable failures again (within the retry cap)")
    common(r)
    r.set_defaults(handler=deferred(_ACTIONS, "resubmit"))
