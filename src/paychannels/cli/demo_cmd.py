"""``paychannels demo``: a whole collection day against the simulators, ending in a
reconciliation — every channel (ZVT terminals over TCP and a serial line, WeChat Pay,
Alipay, bank batch debit), faults injected (timeouts, lost answers, duplicates, a backend
killed mid-payment, failed debits resubmitted), then settled and reconciled.

Needs nothing but this package: the journal is an embedded SQLite file, the simulators run
on 127.0.0.1. Exit status 0 only when the day balances: every payer accounted for, nothing
lost or taken twice (checked against the simulators' own ledgers too).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from paychannels.demo.run import DemoOptions, run_demo
from paychannels.errors import ConfigurationError

__all__ = ["register"]

MAX_PAYERS = 300_000


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
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    if not 10 <= args.payers <= MAX_PAYERS:
        raise ConfigurationError(f"--payers must be between 10 and {MAX_PAYERS:,}")
    summary = run_demo(
        DemoOptions(payers=args.payers, seed=args.seed, folder=args.out, keep=args.keep)
    )
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        print(_text(summary))
    return 0 if summary["balanced"] else 1


def _yuan(minor: int) -> str:
    return f"{minor // 100:,}.{minor % 100:02d}"


def _text(s: dict[str, Any]) -> str:
    cats = s["categories"]
    lines = [
        f"collection day: {s['payers']:,} payers, {_yuan(s['received_minor'])} of "
        f"{_yuan(s['owed_minor'])} CNY received",
        "  " + ", ".join(f"{k} {v:,}" for k, v in sorted(cats.items(), key=lambda kv: -kv[1])),
        "settlement checks: " + ", ".join(f"{k} {v['status']}" for k, v in s["channels"].items()),
        f"against the simulators' ledgers: lost {s['lost']}, taken twice {s['doubled']}, "
        f"unconfirmed {s['unconfirmed']}; in doubt {s['in_doubt']}",
        f"faults injected {s['faults_injected']}: resolved {s['faults_resolved']}, for "
        f"attention {s['faults_for_attention']}, open {s['faults_open']}",
    ]
    for f in s["faults"]:
        lines.append(f"  {f['channel']:<7} {f['fault']:<45} -> {f['outcome']}")
    lines.append(f"needs attention ({s['attention_total']}):")
    for c in s["attention"][:12]:
        lines.append(f"  [{c['category']}] {c['payer'] or ''} {c['text']}"[:160])
    follow = s["follow_up"]
    lines.append(
        f"unpaid after a failed attempt, to contact ({follow['payers']}): "
        + ", ".join(f"{k} {v}" for k, v in sorted(follow["by_reason"].items()))
    )
    for example in follow["examples"][:5]:
        lines.append(f"  {example}"[:160])
    for note in s["notes"]:
        lines.append(f"  note: {note}")
    lines.append("timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in s["timings"].items()))
    if s["workspace"]:
        lines.append(f"workspace (journal, reports, notices): {s['workspace']}")
    lines.append(
        "BALANCED: every payer accounted for, nothing lost or doubled"
        if s["balanced"]
        else "NOT BALANCED (see above)"
    )
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(1)
