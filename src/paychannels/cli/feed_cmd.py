"""``paychannels feed --type pension|medical --day YYYY-MM-DD --db URL``: the day's paid
obligations of one insurance type for the office that keeps it, as CSV (UTF-8 or GBK) or
JSON Lines, with a totals line and a SHA-256 checksum line (docs/feeds.md).

Each payment, reversal and refund is fed once: the journal records what a feed carries
before its file is written. Exit status: 0 when written, 1 when the day was fed before
(``--again`` writes the identical file once more), 2 for a mistake in the command.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from paychannels.console.commands import deferred

__all__ = ["ENCODINGS", "FORMATS", "TYPES", "register"]

#: ``paychannels.documents.feeds`` spelled out, so ``--help`` loads no feed code
#: (tests/feeds/test_feed_cli.py checks the two agree)
TYPES = ("pension", "medical", "城乡居民基本养老保险", "城乡居民基本医疗保险", "all")
FORMATS = ("csv", "jsonl")
ENCODINGS = ("utf-8", "utf-8-sig", "gbk", "gb18030")


def register(sub: Any, default_db: Callable[[], str]) -> None:
    """Add the ``feed`` command."""
    p = sub.add_parser(
        "feed",
        help="the day's paid obligations per insurance type, for the offices",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--db", default=None, help="journal URL (default: $PAYCHANNELS_DB)")
    p.add_argument(
        "--type",
        dest="types",
        action="append",
        choices=TYPES,
        required=True,
        help="insurance type (repeatable; 'all' for both)",
    )
    p.add_argument("--day", help="the county's day, YYYY-MM-DD (default: yesterday there)")
    p.add_argument("--out", default="feeds", help="folder for the files (default ./feeds)")
    p.add_argument("--format", choices=FORMATS, default="csv")
    p.add_argument("--encoding", choices=ENCODINGS, default="utf-8", help="CSV only")
    p.add_argument("--zone", default="Asia/Shanghai", help="the county's time zone")
    p.add_argument(
        "--again", action="store_true", help="write a fed day's identical file once more"
    )
    p.add_argument(
        "--payer-key-file",
        help="a key shared with the office: adds payer_key = HMAC-SHA256(key, payer id)",
    )
    p.add_argument("--json", action="store_true", help="print what was written as JSON")
    p.set_defaults(handler=deferred("paychannels.cli.feed_actions", "feed"), default_db=default_db)
