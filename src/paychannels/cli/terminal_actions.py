"""What ``paychannels terminal status|probe|end-of-day`` do (``terminal_cmd`` declares the
arguments and builds the channel URLs; this module loads only when a terminal command runs)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import JsonValue

from paychannels.cli.terminal_cmd import mispos_url, with_line_settings, zvt_url
from paychannels.collector import Collector
from paychannels.console.interrupt import watched
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
from paychannels.drivers.zvt.totals import DayTotals
from paychannels.links import TranscriptWriter
from paychannels.values.errors import ConfigurationError, PaychannelsError
from paychannels.values.models import PaymentRequest, Record
from paychannels.values.money import Money
from paychannels.values.status import Status

__all__ = ["end_of_day", "probe", "show_status"]


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

    def use_line_settings(self, scan: Finding) -> None:
        """Go on at the line settings the scan found, and show the channel URL that has them."""
        baudrate, stopbits = scan.data["baudrate"], scan.data["stopbits"]
        if self.profile is None:
            config_url = with_line_settings(self.args.link, "zvt", baudrate, stopbits)
            self.url = zvt_url(config_url)
        else:
            at = with_line_settings(self.args.link, "mispos", baudrate, stopbits)
            config_url = self.url = mispos_url(at, self.args.profile)
        self.add(replace(scan, hint=f"Put this channel URL in the config: {config_url}"))
        self.extra["channel_url"] = config_url

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


def show_status(args: argparse.Namespace) -> int:
    """``terminal status``: is the terminal there and ready?"""
    run = _Run(args)
    run.say(f"checking {run.url}")
    if run.profile is not None:
        run.mispos_checks()
        return run.finish()
    finding, _ = check_status(run.client())
    run.add(finding)
    return run.finish()


def probe(args: argparse.Namespace) -> int:
    """``terminal probe``: status, registration, and a test payment if asked (kept on --keep)."""
    run = _Run(args)
    run.say(f"probing {run.url} ({run.password_note})")
    if run.profile is not None:
        return _probe_mispos(run, args)
    status, _ = check_status(run.client())
    run.add(status)
    if not status.ok and args.scan and run.url.startswith("zvt+serial"):
        scan = scan_line_settings(run.url, password=run.password)
        if not scan.ok:
            run.add(scan)
            return run.finish()
        run.use_line_settings(scan)
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
        scan = mispos_diagnosis.scan_baud_rates(port, run.profile)
        if not scan.ok:
            run.add(scan)
            return run.finish()
        run.use_line_settings(scan)
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


def end_of_day(args: argparse.Namespace) -> int:
    """``terminal end-of-day``: close the batch (MIS-POS: settle) and print its totals."""
    run = _Run(args)
    col, channel = _collector(run)
    if isinstance(channel, MisposChannel):
        return _settle_mispos(run, col, channel)
    try:
        totals = channel.end_of_day(col.channel_context(args.channel))
    except PaychannelsError as exc:
        run.add(Finding("end-of-day", False, f"The end of day failed: {exc}"))
    else:
        refunds = None
        if totals.refunds is not None:
            refunds = [totals.refund_count, str(totals.refund_total)]
        run.extra["totals"] = {
            "total": str(totals.total),
            "count": totals.count,
            "refunds": refunds,
            "net": str(totals.net),
            "receipts": [totals.first_receipt, totals.last_receipt],
            "by_card": {k: [c, str(m)] for k, (c, m) in totals.by_card.items()},
            "receipt": list(totals.receipt),
        }
        run.add(Finding("end-of-day", True, _day_text(totals)))
        for line in totals.receipt:
            run.say(f"    | {line}")
    finally:
        col.close()
    return run.finish()


def _day_text(totals: DayTotals) -> str:
    """The batch in one sentence, from the same figures the terminal's receipt prints."""
    if totals.total is None:
        return "Batch closed; the terminal reported no totals."
    paid = "payments not counted" if totals.count is None else f"{totals.count} payment(s)"
    if totals.refunds is None:
        return f"Batch closed: {paid}, total {totals.total} (refunds not reported apart)."
    return (
        f"Batch closed: {paid} {totals.total}, {totals.refund_count} refund(s) "
        f"{totals.refund_total}, net {totals.net}."
    )


def _settle_mispos(run: _Run, col: Collector, channel: MisposChannel) -> int:
    try:
        fields = channel.settle(col.channel_context(run.args.channel))
    except PaychannelsError as exc:
        run.add(Finding("end-of-day", False, f"The settlement failed: {exc}"))
    else:
        lines = (fields.get("print_text") or "").splitlines()
        run.extra["settlement"] = {k: v for k, v in fields.values.items() if k != "print_text"}
        run.extra["settlement"]["receipt"] = lines
        said = f"Settlement of batch {fields.get('batch')} done (结算)"
        run.add(Finding("end-of-day", True, f"{said}; recorded for paychannels reconcile."))
        for line in lines:
            run.say(f"    | {line}")
    finally:
        col.close()
    return run.finish()
