"""What ``paychannels scan`` does (``scan_cmd`` declares the arguments)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING, Any

from paychannels.channels.base import Channel
from paychannels.channels.codepay import CodePayChannel
from paychannels.channels.paycode import PayCodeRouter
from paychannels.collector import Collector
from paychannels.console.interrupt import watched
from paychannels.links.scanner import Scanner, UnreadableScan, open_scanner
from paychannels.security.masking import mask_id_number
from paychannels.values.errors import ConfigurationError, LinkTimeout, PaychannelsError
from paychannels.values.models import Payment, PaymentRequest
from paychannels.values.money import Money
from paychannels.values.paymentcode import PaymentCode, Provider
from paychannels.values.reasons import Reason
from paychannels.values.status import Status

if TYPE_CHECKING:
    from paychannels.config import Deployment

__all__ = ["TELL", "scan"]

_TILL = "scan-till"
_OPEN = (Status.UNKNOWN, Status.PENDING)
_EXIT = {Status.PENDING: 3, Status.SUCCEEDED: 0, Status.UNKNOWN: 3, Status.NEEDS_ATTENTION: 3}
#: what the clerk tells the payer, by outcome (docs/channels/paycode.md, "What the clerk sees")
TELL: dict[Status | Reason, str] = {
    Status.SUCCEEDED: "paid",
    Reason.INSUFFICIENT_FUNDS: "not enough balance: choose another card in the app",
    Reason.CODE_EXPIRED: "the code has expired: refresh it and show it again",
    Reason.CODE_USED: "this code was used: refresh it and show the new one",
    Reason.PIN_TIMEOUT: "not confirmed in time: the order was reversed, nothing was taken",
    Status.DECLINED: "refused by the provider: nothing was taken",
    Status.REVERSED: "taken and given back at once: nothing was kept; scan again",
    Status.NOT_SENT: "nothing reached the provider: scan again",
    Status.UNKNOWN: "no answer yet: do NOT scan again; recover later tells",
    Status.NEEDS_ATTENTION: "the provider's answer contradicts the journal: call the office",
}


def scan(args: argparse.Namespace) -> int:
    """One payment by one scanned code; exit 0 paid, 1 not paid, 3 not known yet."""
    col = watched(args, Collector.open(args.db or args.default_db()))
    try:
        _add_channels(col, args)
        with watched(args, open_scanner(args.scanner)) as scanner:
            print(f"ready: scan the payer's code ({scanner.where})", file=sys.stderr, flush=True)
            code = _one_code(scanner, args.wait)
        if code is None:
            print(f"no code scanned within {args.wait:g} s; nothing was sent", file=sys.stderr)
            return 1
        payment = col.collect(_request(args, code), channel=_TILL)
        payment = _settle(col, payment, args.settle)
        _show(args, payment)
        return _EXIT.get(payment.status, 1)
    finally:
        col.close()


def _add_channels(col: Collector, args: argparse.Namespace) -> None:
    configs = dict(_pair(text, "--channel-config") for text in args.channel_config)
    targets: dict[Provider, str] = {}
    for text in args.code_channel:
        if "=" not in text:  # a channel of the config file, by its name
            channel = _configured(col, text, getattr(args, "deployment", None))
            url = channel.describe()
            name = text
        else:
            name, url = _pair(text, "--code-channel")
            options: dict[str, Any] = {"config": configs[name]} if name in configs else {}
            channel = col.add_channel(name, url, **options)
        if not isinstance(channel, CodePayChannel):
            raise ConfigurationError(f"--code-channel {name}: {url[:60]!r} takes no payment codes")
        targets[channel.codec.provider] = name
    col.add_channel(_TILL, PayCodeRouter(targets))


def _configured(col: Collector, name: str, deployment: Deployment | None) -> Channel:
    """``--code-channel NAME``: the channel ``[channels.NAME]`` of the config file."""
    found = deployment.channels.get(name) if deployment is not None else None
    if deployment is None or found is None:
        raise ConfigurationError(
            f"--code-channel {name[:40]!r}: expected NAME=URL, or the NAME of a "
            "[channels.NAME] table in the config file (--config)"
        )
    try:
        return col.add_channel(name, found.url, **found.open_options())
    except (PaychannelsError, TypeError, ValueError) as exc:
        raise deployment.channel_failed(name, exc) from None


def _pair(text: str, flag: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name or not value:
        raise ConfigurationError(f"{flag} {text[:40]!r}: expected NAME=VALUE")
    return name, value


def _one_code(scanner: Scanner, wait: float) -> PaymentCode | None:
    """The first line that is a code; lines that are not are shown and skipped."""
    deadline = time.monotonic() + wait
    while (left := deadline - time.monotonic()) > 0:
        try:
            return scanner.read(timeout=left)
        except UnreadableScan as exc:
            print(f"not a payment code, scan again: {exc}", file=sys.stderr)
        except LinkTimeout:
            return None
    return None


def _request(args: argparse.Namespace, code: PaymentCode) -> PaymentRequest:
    """One scan, one key: the code's digest is in it, so reading the same code twice can
    never send it twice (the journal returns the first payment)."""
    return PaymentRequest(
        payer_id=args.payer,
        amount=Money(args.amount, args.currency),
        reference=args.reference,
        idempotency_key=f"scan:{args.reference}:{code.digest[:32]}"[:128],
        operator=args.operator,
        payment_code=code,
    )


def _settle(col: Collector, payment: Payment, seconds: float) -> Payment:
    """A lost answer: ask the provider (recover) for a while, never send the code again."""
    deadline = time.monotonic() + seconds
    record: Payment = payment
    while record.status in _OPEN and (left := deadline - time.monotonic()) > 0:
        time.sleep(min(2.0, left))
        col.recover(channel=record.channel)
        found = col.status(record.id)
        assert isinstance(found, Payment)
        record = found
    return record


def _show(args: argparse.Namespace, p: Payment) -> None:
    tell = TELL.get(p.reason, "") if p.reason is not None else ""
    tell = tell or TELL.get(p.status, p.status.value)
    result = {
        "payment": p.id,
        "status": p.status.value,
        "reason": p.reason.value if p.reason else None,
        "channel": p.channel,
        "payer": mask_id_number(p.payer_id),
        "amount": str(p.amount),
        "code": p.scanned_code,
        "tell": tell,
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(f"{p.status.value}: {tell}")
        print(f"  {p.id} {result['amount']} via {p.channel}, code {p.scanned_code}")
