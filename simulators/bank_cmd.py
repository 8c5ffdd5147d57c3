"""``paychannels-sim bank``: a bank that answers request files with result files."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from paychannels.simulators.bank import BankSimulator, Mix
from paychannels.simulators.bank.outcomes import OUTCOMES

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add the ``bank`` simulator to ``paychannels-sim``."""
    p = sub.add_parser(
        "bank",
        help="read request files, write result files",
        description="A simulated bank on two folders: it reads pain.008 and text-layout request "
        "files from --inbox (the channel's outbox) and writes pain.002 / camt.054 / text "
        "result files into --outbox (the channel's inbox).",
    )
    p.add_argument("--inbox", required=True, type=Path, help="where request files arrive")
    p.add_argument("--outbox", required=True, type=Path, help="where result files go")
    p.add_argument("--state", type=Path, help="the bank's ledger folder (default: next to --inbox)")
    p.add_argument(
        "--mix",
        default="insufficient_funds=0.05,closed=0.01,no_agreement=0.01,partial=0.01,late_return=0.01",
        help=f"outcome=fraction,... ({', '.join(OUTCOMES)}); the rest are taken in full",
    )
    p.add_argument("--seed", default="paychannels", help="same seed, same outcomes")
    p.add_argument(
        "--reply",
        default="camt.054",
        choices=["camt.054", "pain.002.001.03", "pain.002.001.10"],
        help="how pain.008 requests are answered (camt.054: pain.002 refusals + camt.054 bookings)",
    )
    p.add_argument("--delay", type=float, default=0.0, help="seconds before a request is answered")
    p.add_argument("--return-delay", type=float, default=0.0, help="seconds before late returns")
    p.add_argument("--once", action="store_true", help="answer what is there, then stop")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between looks")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    logging.getLogger("paychannels.simulators.bank").setLevel(logging.INFO)
    sim = BankSimulator(
        args.inbox,
        args.outbox,
        state=args.state,
        mix=Mix.parse(args.mix, seed=args.seed),
        reply=args.reply,
        delay=args.delay,
        return_delay=args.return_delay,
    )
    try:
        if args.once:
            for path in sim.process_once():
                print(path)
            return 0
        print(f"bank simulator: reading {args.inbox}, answering into {args.outbox}", flush=True)
        sim.run(interval=args.interval, stop=lambda: args.stopping.requested)
        return 0
    finally:
        sim.close()
