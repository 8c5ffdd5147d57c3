"""The echo channel: paychannels' verbs spoken to an echo device, one line per exchange.

What a real driver does, in small: a request that provably never left is ``NotSentError``;
a request that left without a readable answer is unknown (``OutcomeUnknownError`` or
``ProtocolError``), never a decline; status enquiries resolve it; the card number the device
sends back is masked before anything is logged.
"""

from __future__ import annotations

import logging
from typing import Any

from paychannels import (
    Capabilities,
    Channel,
    ChannelContext,
    InvalidURL,
    Money,
    NotSentError,
    Outcome,
    OutcomeUnknownError,
    Payment,
    ProtocolError,
    Reason,
    Record,
    Refund,
    Status,
)
from paychannels.values.urls import ParsedURL
from paychannels_echo.device import EchoDevice

__all__ = ["EchoChannel", "from_url"]

log = logging.getLogger("paychannels_echo")
_FORM = "echo://<device name>"
_REASONS = {"51": Reason.INSUFFICIENT_FUNDS, "13": Reason.TRANSACTION_FORBIDDEN}


class EchoChannel(Channel):
    """A channel to one echo device; ``transcript`` keeps every exchange, scrubbed."""

    scheme = "echo"
    capabilities = Capabilities(
        inquire=True, void=True, refund=True, partial_refund=True, dispatch_timeout=10.0
    )

    def __init__(self, device: EchoDevice) -> None:
        self.device = device
        self.transcript: list[str] = []

    def start(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        return self._outcome(self._call("pay", payment))

    def inquire(self, record: Record, ctx: ChannelContext) -> Outcome:
        answer = self._call("query", record)
        if answer["result"] == "none":
            return Outcome.not_sent("the echo device has no record of it")
        return self._outcome(answer)

    def void(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        return self._outcome(self._call("reverse", payment))

    def refund(self, refund: Refund, payment: Payment, ctx: ChannelContext) -> Outcome:
        return self._outcome(self._call("refund", refund, parent=payment.id))

    def describe(self) -> str:
        return f"echo://{self.device.name}"

    def _call(self, op: str, record: Record, **extra: str) -> dict[str, str]:
        """One exchange with the device: the request line out, the parsed answer back."""
        fields = {"op": op, "key": record.id, **extra}
        if op in ("pay", "refund"):
            fields |= {"amount": str(record.amount.minor), "currency": record.amount.currency.code}
        line = " ".join(f"{k}={v}" for k, v in fields.items())
        self._note(">", line)
        try:
            answer = self.device.exchange(line)
        except ConnectionRefusedError as exc:
            raise NotSentError(f"{self.describe()} refused the connection: nothing sent") from exc
        if answer is None:
            raise OutcomeUnknownError(f"{self.describe()} did not answer {op} (it may have acted)")
        self._note("<", answer)
        return _parse(answer)

    def _note(self, direction: str, line: str) -> None:
        shown = self.scrub(line)
        self.transcript.append(f"{direction} {shown}")
        log.info("%s %s %s", self.describe(), direction, shown)

    @staticmethod
    def _outcome(answer: dict[str, str]) -> Outcome:
        ref, code = answer.get("ref"), answer.get("code", "")
        match answer["result"]:
            case "approved":
                taken = Money.of_minor(int(answer["amount"]), answer["currency"])
                return Outcome.succeeded(amount_taken=taken, channel_ref=ref)
            case "declined":
                reason = _REASONS.get(code, Reason.CARD_DECLINED)
                return Outcome.declined(reason, f"echo code {code}", channel_ref=ref)
            case "reversed":
                return Outcome(status=Status.REVERSED, channel_ref=ref)
        raise ProtocolError(f"echo device answered an unknown result {answer['result']!r}")


def _parse(answer: str) -> dict[str, str]:
    """An answer line as fields; anything else is a reply we cannot read (outcome unknown)."""
    parts = answer.split()
    if not parts or not all("=" in p and p.isprintable() for p in parts):
        raise ProtocolError(f"echo answer could not be parsed ({len(answer)} bytes)")
    fields = dict(p.split("=", 1) for p in parts)
    if "result" not in fields:
        raise ProtocolError("echo answer has no result field")
    return fields


def from_url(parsed: ParsedURL, **options: Any) -> EchoChannel:
    """Entry point for ``echo://<device name>`` (the ``paychannels.channels`` group)."""
    parsed.check_options(set(), _FORM)
    if options:
        raise TypeError(f"echo channel got unexpected options {sorted(options)}")
    if not parsed.host:
        raise InvalidURL(f"{parsed.raw!r}: name the device; {_FORM}")
    return EchoChannel(EchoDevice.named(parsed.host))
