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
import json
import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import JsonValue

from paychannels.cli.interrupt import watched
from paychannels.collector import Collector
from paychannels.drivers.mispos import diagnosis as mispos_diagnosis
from paychannels.drivers.mispos.channel import MisposChannel
from paychannels.drivers.mispos.factory import client_from_url as mispos_client
from paychannels.drivers.mispos.profile_checks import load as load_profile
from paychannels.drivers.zvt import TerminalChannel
from paychannels.drivers.zvt.diagnosis import (
    Finding,
    check_registration,
    check_status,
    scan_line_settings,
)
from paychannels.drivers.zvt.factory import client_from_url
from paychannels.errors import ConfigurationError, InvalidURL, PaychannelsError
from paychannels.links import TranscriptWriter
from paychannels.models import PaymentRequest, Record
from paychannels.money import Money
from paychannels.status import Status

__all__ = ["mispos_url", "register", "zvt_url"]

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
    p_status.set_defaults(handler=_status)

    p_probe = tsub.add_parser("probe", help="status, registration, optional test payment")
    common(p_probe)
    journaled(p_probe)
    p_probe.add_argument("--pay", metavar="AMOUNT", help="take a test payment, e.g. 0.01")
    p_probe.add_argument("--currency", default="CNY")
    p_probe.add_argument("--yes", action="store_true", help="do not ask before paying")
    p_probe.add_argument("--keep", action="store_true", help="do not reverse the test payment")
    p_probe.add_argument("--scan", action="store_true", help="serial: try other line settings")
    p_probe.set_defaults(handler=_probe)

    p_eod = tsub.add_parser("end-of-day", help="close the terminal's batch, print its totals")
    common(p_eod)
    journaled(p_eod)
    p_eod.set_defaults(handler=_end_of_day)


class _Run:
    """One run's output: findings for people or JSON for machines."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.profile = load_profile(args.profile) if args.profile else None
        self.url = mispos_url(args.link, args.profile) if self.profile else zvt_url(args.link)
        self.password, self.password_note = _password(args)
        if self.profile is not None:
            self.password_note = f"profile {self.profile.name} ({self.profile.path})"
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        self.path = Path(args.transcript or f"paychannels-terminal-{stamp}.trace")
        self.transcript = TranscriptWriter(self.path, link=self.url)
        self.findings: list[Finding] = []
        self.extra: dict[str, Any] = {}

    def channel_options(self) -> dict[str, Any]:
        """What the channel URL needs beside itself (a ZVT password; never for MIS-POS)."""
        if self.profile is not None:
            return {"transcript": self.transcript, "profile": self.profile}
        return {"password": self.password, "transcript": self.transcript}

    def mispos_checks(self) -> bool:
        """The MIS-POS findings (link, framing, fields); True when all are good."""
        assert self.profile is not None
        client, _ = mispos_client(self.url, profile=self.profile, transcript=self.transcript)
        findings = mispos_diagnosis.probe(client.link, self.profile, wait=self.args.wait)
        for finding in findings:
            self.add(finding)
        return all(f.ok for f in findings)

    def client(self, url: str | None = None) -> Any:
        client, _ = client_from_url(
            url or self.url, password=self.password, transcript=self.transcript
        )
        return client

    def add(self, finding: Finding) -> Finding:
        self.findings.append(finding)
        if not self.args.json:
            mark = "ok " if finding.ok else "!! "
            print(f"{mark} {finding.check}: {finding.text}")
            if finding.hint:
                print(f"    -> {finding.hint}")
        return finding

    def say(self, text: str) -> None:
        if not self.args.json:
            print(text, flush=True)

    def finish(self) -> int:
        self.transcript.close()
        ok = all(f.ok for f in self.findings)
        if self.args.json:
            out = {
                "link": self.url,
                "transcript": str(self.path),
                "ok": ok,
                "findings": [f.as_dict() for f in self.findings],
                **self.extra,
            }
            print(json.dumps(out, ensure_ascii=False, indent=2, default=str))
        else:
            print(f"transcript: {self.path} (card numbers and passwords masked)")
        return 0 if ok else 1


def _password(args: argparse.Namespace) -> tuple[str, str]:
    if args.password_file:
        try:
            text = Path(args.password_file).read_text(encoding="utf-8").splitlines()[0].strip()
        except (OSError, IndexError) as exc:
            raise ConfigurationError(
                f"cannot read the password from {args.password_file}: {exc}"
            ) from None
        return text, f"password from {args.password_file}"
    value = os.environ.get(args.password_env)
    if value:
        return value.strip(), f"password from ${args.password_env}"
    return "000000", "no password given: trying the common default 000000"


def _status(args: argparse.Namespace) -> int:
    run = _Run(args)
    run.say(f"checking {run.url}")
    if run.profile is not None:
        run.mispos_checks()
        return run.finish()
    finding, _ = check_status(run.client())
    run.add(finding)
    return run.finish()


def _probe(args: argparse.Namespace) -> int:
    run = _Run(args)
    run.say(f"probing {run.url} ({run.password_note})")
    if run.profile is not None:
        return _probe_mispos(run, args)
    status, _ = check_status(run.client())
    run.add(status)
    if not status.ok and args.scan and run.url.startswith("zvt+serial"):
        scan = run.add(scan_line_settings(run.url, password=run.password))
        if not scan.ok:
            return run.finish()
    elif not status.ok:
        return run.finish()
    if not run.add(check_registration(run.client())).ok or not args.pay:
        return run.finish()
    if not _confirm(args, f"Take a test payment of {args.pay} {args.currency} on the terminal? "):
        run.say("no test payment taken")
        return run.finish()
    _test_payment(run, args)
    return run.finish()


def _probe_mispos(run: _Run, args: argparse.Namespace) -> int:
    assert run.profile is not None
    ok = run.mispos_checks()
    if not ok and args.scan and run.url.startswith("mispos+serial"):
        client, _ = mispos_client(run.url, profile=run.profile)
        port = getattr(client.link, "port", "")
        if not run.add(mispos_diagnosis.scan_baud_rates(port, run.profile)).ok:
            return run.finish()
    elif not ok:
        return run.finish()
    if args.pay and _confirm(
        args, f"Take a test payment of {args.pay} {args.currency} on the terminal? "
    ):
        _test_payment(run, args)
    return run.finish()


def _confirm(args: argparse.Namespace, question: str) -> bool:
    if args.yes:
        return True
    if not sys.stdin.isatty():
        raise ConfigurationError("confirm with --yes when not running on a terminal")
    return input(question + "Type yes: ").strip().lower() == "yes"


def _collector(run: _Run) -> tuple[Collector, TerminalChannel | MisposChannel]:
    args = run.args
    col = watched(args, Collector.open(args.db or args.default_db(), create=args.create))
    channel = col.add_channel(args.channel, run.url, **run.channel_options())
    assert isinstance(channel, TerminalChannel | MisposChannel)
    return col, channel


def _test_payment(run: _Run, args: argparse.Namespace) -> None:
    amount = Money(args.pay, args.currency)
    col, _channel = _collector(run)
    stamp = datetime.now().strftime("%Y%m%d%H%M%S%f")

    def show(_payment_id: str, data: dict[str, JsonValue]) -> None:
        run.say(f"    terminal: {data.get('text')}  {data.get('zh', '')}")

    col.watch_progress(show)
    try:
        run.say("follow the terminal: present the test card and enter the PIN")
        request = PaymentRequest(
            payer_id="field-test",
            amount=amount,
            reference=f"field-test-{stamp}",
            idempotency_key=f"field-test-{stamp}",
            description="terminal field test",
        )
        payment: Record = col.collect(request, channel=args.channel)
        if payment.status is Status.UNKNOWN:
            run.say("the answer was lost; asking the terminal")
            col.recover(channel=args.channel)
            payment = col.status(payment.id)
        run.extra["payment"] = {"id": payment.id, "status": payment.status.value}
        for line in payment.channel_data.get("receipt", []) or []:  # type: ignore[union-attr]
            run.say(f"    | {line}")
        if payment.status is Status.SUCCEEDED:
            run.add(Finding("payment", True, f"Test payment {payment.id} succeeded."))
            _reverse(run, args, col, payment)
        else:
            detail = payment.reason_detail or payment.status.value
            run.add(Finding("payment", False, f"Test payment {payment.id}: {detail}."))
    except PaychannelsError as exc:
        run.add(Finding("payment", False, f"The test payment failed: {exc}"))
    finally:
        col.close()


def _reverse(run: _Run, args: argparse.Namespace, col: Collector, payment: Record) -> None:
    if args.keep or not _confirm(args, "Reverse the test payment now? "):
        run.say(f"kept: reverse it later with its receipt number ({payment.channel_ref})")
        return
    reversed_ = col.cancel(payment.id)
    run.extra["payment"]["status"] = reversed_.status.value
    ok = reversed_.status is Status.REVERSED
    run.add(Finding("reversal", ok, f"Test payment {reversed_.status.value.lower()}."))


def _end_of_day(args: argparse.Namespace) -> int:
    run = _Run(args)
    col, channel = _collector(run)
    if isinstance(channel, MisposChannel):
        return _settle_mispos(run, col, channel)
    try:
        totals = channel.end_of_day(col.channel_context(args.channel))
    except PaychannelsError as exc:
        run.add(Finding("end-of-day", False, f"The end of day failed: {exc}"))
    else:
        run.extra["totals"] = {
            "total": str(totals.total),
            "count": totals.count,
            "receipts": [totals.first_receipt, totals.last_receipt],
            "by_card": {k: [c, str(m)] for k, (c, m) in totals.by_card.items()},
        }
        text = f"Batch closed: {totals.count} transactions, total {totals.total}."
        run.add(Finding("end-of-day", True, text))
        for line in totals.receipt:
            run.say(f"    | {line}")
    finally:
        col.close()
    return run.finish()


def _settle_mispos(run: _Run, col: Collector, channel: MisposChannel) -> int:
    try:
        fields = channel.settle(col.channel_context(run.args.channel))
    except PaychannelsError as exc:
        run.add(Finding("end-of-day", False, f"The settlement failed: {exc}"))
    else:
        run.extra["settlement"] = {k: v for k, v in fields.values.items() if k != "print_text"}
        run.add(Finding("end-of-day", True, "Settlement done (结算)."))
        for line in (fields.get("print_text") or "").splitlines():
            run.say(f"    | {line}")
    finally:
        col.close()
    return run.finish()
