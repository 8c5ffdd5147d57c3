"""``paychannels terminal status|probe|end-of-day --link URL``: field-testing a POS terminal.

ZVT by default; with ``--profile NAME|FILE`` a bank MIS-POS terminal spoken to as that
profile declares. ``status`` asks whether the terminal is there and ready (MIS-POS: "query
last transaction", and whether its frames and fields fit the profile); ``probe`` also
registers (ZVT), can scan serial line settings, and takes a guided test payment (with
confirmation, journaled, then reversed); ``end-of-day`` closes the terminal's batch
(MIS-POS: settlement). Every run writes a transcript (card numbers and passwords masked) to
attach to a bug report. Findings are plain language with what to do; exit status 0 when all
is well, 1 when a check found a problem, 2 on a usage error. See docs/field-testing.md and
docs/drivers/mispos.md.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from paychannels.console.commands import deferred
from paychannels.values.errors import InvalidURL

__all__ = ["PASSWORD_ENV", "mispos_url", "register", "with_line_settings", "zvt_url"]

_ACTIONS = "paychannels.cli.terminal_actions"

PASSWORD_ENV = "PAYCHANNELS_ZVT_PASSWORD"  # noqa: S105 - the variable's name, not a secret


def _channel_url(link: str, kind: str, example: str, option: str, value: str) -> str:
    """``tcp://...`` / ``serial://...`` / ``<kind>+...`` -> ``<kind>+...`` with ``option``."""
    if link.startswith(f"{kind}+"):
        url = link
    elif link.startswith(("tcp://", "serial://")):
        url = f"{kind}+{link}"
    else:
        raise InvalidURL(
            f"{link!r} is not a terminal link; expected {example} or "
            f"serial:///dev/ttyUSB0?baudrate=9600 ({kind}+tcp:// and {kind}+serial:// work too)"
        )
    if f"{option}=" not in url:
        url += ("&" if "?" in url else "?") + f"{option}={value}"
    return url


def with_line_settings(link: str, kind: str, baudrate: int, stopbits: str) -> str:
    """The channel URL of ``link`` at the line settings a scan found: what goes in the config."""
    base, _, old = (link if link.startswith(f"{kind}+") else f"{kind}+{link}").partition("?")
    query = dict(parse_qsl(old, keep_blank_values=True))
    query.update(baudrate=str(baudrate), stopbits=stopbits)
    return f"{base}?{urlencode(query, safe='/:')}"


def zvt_url(link: str) -> str:
    """``tcp://host[:port]`` / ``serial:///dev/...`` / ``zvt+...`` -> a ZVT channel URL (a
    field check should not wait five seconds per silence: T3 is 2 s unless given)."""
    return _channel_url(link, "zvt", "tcp://10.1.2.3:20007", "t3", "2")


def mispos_url(link: str, profile: str) -> str:
    """``tcp://host:port`` / ``serial:///dev/...`` / ``mispos+...`` -> a MIS-POS channel URL."""
    return _channel_url(link, "mispos", "tcp://10.1.2.3:9000", "profile", profile)


def register(sub: Any, default_db: Callable[[], str]) -> None:
    """Add the ``terminal`` command group to the root parser."""
    terminal = sub.add_parser("terminal", help="field-test a POS terminal (ZVT or MIS-POS)")
    tsub = terminal.add_subparsers(dest="terminal_command", metavar="ACTION", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--link", required=True, help="tcp://HOST[:20007] or serial:///dev/ttyUSB0")
        p.add_argument("--password-file", help="file whose first line is the terminal password")
        p.add_argument(
            "--password-env",
            default=PASSWORD_ENV,
            help=f"environment variable holding the password (default {PASSWORD_ENV})",
        )
        p.add_argument("--transcript", help="where to write the transcript (default: ./...)")
        p.add_argument(
            "--profile", help="a MIS-POS profile (name or .toml file): the terminal is not ZVT"
        )
        p.add_argument("--wait", type=float, default=5.0, help="MIS-POS: seconds for an answer")
        p.add_argument("--json", action="store_true", help="machine-readable output")
        p.set_defaults(default_db=default_db)

    def journaled(p: argparse.ArgumentParser) -> None:
        p.add_argument("--db", help="journal URL (default: $PAYCHANNELS_DB)")
        p.add_argument(
            "--create", action="store_true", help="start a new journal if there is none at --db"
        )
        p.add_argument("--channel", default="field-test", help="channel name in the journal")

    p_status = tsub.add_parser("status", help="is the terminal there and ready?")
    common(p_status)
    p_status.set_defaults(handler=deferred(_ACTIONS, "show_status"))

    p_probe = tsub.add_parser("probe", help="status, registration, optional test payment")
    common(p_probe)
    journaled(p_probe)
    p_probe.add_argument("--pay", metavar="AMOUNT", help="take a test payment, e.g. 0.01")
    p_probe.add_argument("--currency", default="CNY")
    p_probe.add_argument("--yes", action="store_true", help="do not ask before paying")
    p_probe.add_argument("--keep", action="store_true", help="do not reverse the test payment")
    p_probe.add_argument("--scan", action="store_true", help="serial: try other line settings")
    p_probe.set_defaults(handler=deferred(_ACTIONS, "probe"))

    p_eod = tsub.add_parser("end-of-day", help="close the terminal's batch, print its totals")
    common(p_eod)
    journaled(p_eod)
    p_eod.set_defaults(handler=deferred(_ACTIONS, "end_of_day"))
