"""``paychannels scan``: a hall till — one payment per scanned payment code (付款码).

The clerk starts it with the payer and the amount; the payer shows the code; the scanner (a
serial port, or typing into standard input in keyboard mode) reads it; the code's provider
picks the channel; the command prints what to tell the payer and exits 0 when paid. A line
that is no code is shown (never its digits) and the scanner is read again. An answer that got
lost is asked about for ``--settle`` seconds before the command gives up (then: do not scan
again; ``recover`` later). docs/channels/paycode.md has the setup.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from paychannels.console.commands import deferred

__all__ = ["register"]


def register(sub: Any, default_db: Callable[[], str]) -> None:
    """Add the ``scan`` command."""
    p = sub.add_parser(
        "scan",
        help="take one payment by scanning the payer's WeChat Pay / Alipay payment code",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--db", help="journal URL (default: $PAYCHANNELS_DB)")
    p.add_argument(
        "--code-channel",
        action="append",
        required=True,
        metavar="NAME=URL",
        help="a provider's code channel, e.g. wx-codes=wechatpay+https://…&trade_type=codepay "
        "(repeat for Alipay); the code's provider picks one. A NAME alone is [channels.NAME] "
        "of --config (URL, options and keys)",
    )
    p.add_argument(
        "--channel-config",
        action="append",
        default=[],
        metavar="NAME=FILE",
        help="the channel's settings file (keys), e.g. wx-codes=/etc/paychannels/wechatpay.toml",
    )
    p.add_argument("--payer", required=True, help="the payer's id as in the roster")
    p.add_argument("--amount", required=True, help="amount, e.g. 380.00")
    p.add_argument("--currency", default="CNY")
    p.add_argument("--reference", required=True, help="what is paid, e.g. 2026-pension")
    p.add_argument("--operator", help="the clerk or assistant taking the payment")
    p.add_argument(
        "--scanner",
        default="-",
        help="serial://DEVICE?baudrate=9600 (CDC scanner) or - (keyboard mode: standard input)",
    )
    p.add_argument("--wait", type=float, default=120.0, help="seconds to wait for a scan")
    p.add_argument("--settle", type=float, default=15.0, help="seconds to ask about a lost answer")
    p.add_argument("--json", action="store_true", help="the result as JSON")
    p.set_defaults(handler=deferred("paychannels.cli.scan_actions", "scan"), default_db=default_db)
