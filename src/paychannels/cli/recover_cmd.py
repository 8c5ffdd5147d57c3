"""``paychannels recover [--loop --interval 60s]``: the janitor — recover what is in doubt,
expire stale locks, download bills, end-of-day totals, acquirer reports and bank result
files at their scheduled times (docs/janitor.md). One summary line per round (``--json``:
one object per line). Exit 0: all settled; 3: something still in doubt or failed; 2: usage.
With ``--loop``, SIGTERM or Ctrl-C ends it after the round in progress, with 0.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from typing import Any

from paychannels.console.usage import zone_name

__all__ = ["interval_seconds", "register"]

_INTERVAL = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)?$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def interval_seconds(text: str) -> float:
    """``60s``, ``5m``, ``1h``, ``250ms`` or plain seconds; anything else is a usage error."""
    m = _INTERVAL.match(text.strip())
    seconds = float(m[1]) * _UNIT[m[2]] if m else 0.0
    if not m or not 0.01 <= seconds <= 86_400:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an interval between 10ms and 24h (e.g. 60s, 5m, 1h)"
        )
    return seconds


def register(sub: Any, default_db: Callable[[], str]) -> None:
    """Add the ``recover`` command."""
    p = sub.add_parser(
        "recover",
        help="the janitor: resolve what is in doubt and fetch scheduled files (once or --loop)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--db", default=None, help="journal URL (default: $PAYCHANNELS_DB)")
    p.add_argument(
        "--channel",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="a channel to recover and fetch for (repeat for each)",
    )
    p.add_argument(
        "--schedule",
        action="append",
        default=[],
        metavar="NAME=KIND@HH:MM",
        help="a scheduled job, KIND one of bill, end-of-day, acquirer-report, bank-results; "
        "the time is the county's (repeat for each)",
    )
    p.add_argument("--zone", type=zone_name, default="Asia/Shanghai", help="the county's time zone")
    p.add_argument("--loop", action="store_true", help="run rounds until SIGTERM or Ctrl-C")
    p.add_argument(
        "--interval",
        type=interval_seconds,
        default=None,
        help="time between rounds with --loop (default: [janitor] interval of --config, else 60s)",
    )
    p.add_argument("--rounds", type=int, default=None, help="with --loop: stop after N rounds")
    p.add_argument("--json", action="store_true", help="one JSON object per round")
    p.set_defaults(handler=_run, default_db=default_db)


def _run(args: argparse.Namespace) -> int:
    from paychannels.collector import Collector  # when the command runs, not for --help
    from paychannels.console.interrupt import Stopping, watched
    from paychannels.operations.janitor import Janitor, RoundReport
    from paychannels.operations.schedule import JanitorSchedule
    from paychannels.values.errors import ConfigurationError

    deployment = getattr(args, "deployment", None)
    interval = args.interval
    if deployment is not None:  # the file's channels, schedule and interval; --db still wins
        settings = deployment.janitor
        schedule = JanitorSchedule.from_settings(settings, extra=args.schedule, zone=args.zone)
        interval = interval or settings.interval.total_seconds()
    else:
        schedule = JanitorSchedule.parse(args.schedule, zone=args.zone)
    if args.rounds is not None and (not args.loop or args.rounds < 1):
        raise ConfigurationError("--rounds N (N >= 1) goes with --loop")
    if deployment is not None:
        col = Collector.from_config(deployment, db=args.db, clock=args.clock)
    else:
        col = Collector.open(args.db or args.default_db(), clock=args.clock)
    stopping = args.stopping if isinstance(args.stopping, Stopping) else Stopping()
    if args.loop:
        stopping.draining = True  # a signal ends the loop after its round, not inside it
    else:
        watched(args, col)
    try:
        for spec in args.channel:
            name, sep, url = spec.partition("=")
            if not sep or not name or not url:
                raise ConfigurationError(f"--channel {spec!r}: expected NAME=URL")
            col.add_channel(name, url)
        janitor = Janitor(col, schedule)

        def say(report: RoundReport) -> None:
            text = json.dumps(report.as_dict(), sort_keys=True) if args.json else report.line()
            print(text, flush=True)

        if not args.loop:
            report = janitor.round()
            say(report)
            return report.exit_code
        last = janitor.loop(interval or 60.0, stopping.wait, each=say, rounds=args.rounds)
        if stopping.requested or last is None:
            return 0  # asked to stop: the round in progress was finished
        return last.exit_code
    finally:
        col.close()
