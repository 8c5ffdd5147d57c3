"""What ``paychannels feed`` does (``feed_cmd`` declares the arguments)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, timedelta
from pathlib import Path

from paychannels.console.interrupt import watched
from paychannels.documents.feeds import (
    INSURANCES,
    FeedAlreadyWritten,
    FeedError,
    FeedFormat,
    FeedResult,
    make_feed,
    zone_of,
)
from paychannels.documents.feeds.render import amount_text
from paychannels.journal import open_journal
from paychannels.runtime.clock import utcnow
from paychannels.security.masking import shown
from paychannels.values.currencies import currency

__all__ = ["feed"]


def feed(args: argparse.Namespace) -> int:
    """Make each asked type's feed of the day; 1 if one of them was fed before."""
    fmt = FeedFormat(args.format, args.encoding, _key(args.payer_key_file))
    zone = zone_of(args.zone)
    now = utcnow()
    day = _day(args.day) if args.day else now.astimezone(zone).date() - timedelta(days=1)
    kinds = [i.code for i in INSURANCES] if "all" in args.types else list(dict.fromkeys(args.types))
    journal = watched(args, open_journal(args.db or args.default_db()))
    results: list[FeedResult] = []
    refused: list[str] = []
    try:
        journal.check_schema()
        for kind in kinds:
            try:
                results.append(
                    make_feed(
                        journal, kind, day, args.out, fmt, now=now, zone=args.zone, again=args.again
                    )
                )
            except FeedAlreadyWritten as exc:
                refused.append(str(exc))
    finally:
        journal.close()
    _report(args, results, refused)
    return 1 if refused else 0


def _report(args: argparse.Namespace, results: list[FeedResult], refused: list[str]) -> None:
    if args.json:
        shown = [
            {
                "feed": r.header.feed_id,
                "insurance": r.header.insurance,
                "day": r.header.day,
                "action": r.action,
                "lines": r.header.lines,
                "total_minor": r.header.total_minor,
                "currency": r.header.currency,
                "path": str(r.path),
                "sha256": r.checksum,
            }
            for r in results
        ]
        print(json.dumps({"written": shown, "refused": refused}, ensure_ascii=False, indent=2))
    else:
        for r in results:
            print(
                f"{r.header.feed_id}: {r.header.lines} lines, net "
                f"{amount_text(r.header.total_minor, currency(r.header.currency).exponent)} "
                f"{r.header.currency} ({r.action}) -> {r.path} sha256 {r.checksum}"
            )
    for text in refused:
        print(f"paychannels: error: {text}", file=sys.stderr)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FeedError(f"--day {text[:20]!r} is not a date (YYYY-MM-DD)") from None


def _key(path: str | None) -> bytes | None:
    if path is None:
        return None
    try:
        key = Path(path).read_bytes().strip()
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or "not a file name"
        raise FeedError(f"cannot read the payer key file {shown(path)}: {reason}") from None
    if len(key) < 16:
        raise FeedError(f"the payer key in {path} is shorter than 16 bytes")
    return key
