"""``CloudPosChannel``: payments on a smart terminal reached through its vendor's cloud (nexo).

The backend posts a nexo request to the cloud, which pushes it to the terminal named by its
POIID. ``sync`` mode waits for the answer on the same call; ``async`` mode gets ``ok`` at
once and the result later by a signed event notification (``Collector.handle_callback``)
or by asking (``Collector.recover()``, which sends a status request for each PENDING
payment). Every attempt's ServiceID is claimed in the journal before a byte leaves
(``serviceids``), so a lost answer is resolved by a status request naming it — never by
sending again — and an attempt without a claimed ServiceID provably never left.

``cancel`` on a payment still waiting for the card sends an Abort, then asks the terminal
how the payment ended (an abort that comes too late leaves the payment paid, and says so).
``cancel`` on a paid payment voids it (a Reversal); ``refund`` is a Reversal for an amount.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from paychannels.channels.base import Capabilities, Channel, ChannelContext, Notice, Reply
from paychannels.channels.settlement import record_settlement
from paychannels.drivers.nexo import build
from paychannels.drivers.nexo.bodies import DiagnosisResponse
from paychannels.drivers.nexo.cloud import Cloud
from paychannels.drivers.nexo.common import TransactionIdentification
from paychannels.drivers.nexo.envelope import Reply as CloudReply
from paychannels.drivers.nexo.envelope import SaleToPOIRequest
from paychannels.drivers.nexo.errors import NexoFormatError
from paychannels.drivers.nexo.inquiry import event_text, not_found, read_reply, read_status
from paychannels.drivers.nexo.notifications import NotificationReader
from paychannels.drivers.nexo.report import read_settlement_report, report_name
from paychannels.drivers.nexo.serviceids import Kind, Marker, ServiceIds
from paychannels.providers.bills import BILL_TIMEOUT, MAX_BILL_BYTES, ProviderBill
from paychannels.security.masking import scrub
from paychannels.values.errors import (
    ChannelError,
    ConfigurationError,
    OutcomeUnknownError,
    UnsupportedOperation,
)
from paychannels.values.models import Outcome, Payment, Record, Refund
from paychannels.values.status import Status

__all__ = ["CloudPosChannel", "NexoSettings", "ReversalRefused", "scrub_secrets"]


def scrub_secrets(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with each secret (API key, notification secrets) and card or ID number masked."""
    for secret in secrets:
        text = text.replace(secret, "[REDACTED]")
    return scrub(text)


class ReversalRefused(ChannelError):
    """The terminal would not void the payment; it stays as it was."""


@dataclass(frozen=True, slots=True)
class NexoSettings:
    """How the channel behaves (see docs/channels/nexo.md for each)."""

    who: build.Identity
    mode: str = "sync"  # sync | async
    status_wait: float = 150.0  # the cloud's own timeout: NotFound proves nothing before it
    abort_wait: float = 10.0  # how long cancel() waits for the aborted payment to end
    poll_every: float = 0.25
    where: str = "nexo"
    report_url: str = ""  # where the acquirer's daily settlement reports are (a folder URL)


class CloudPosChannel(Channel):
    """One terminal behind a nexo cloud; see the module docstring."""

    scheme = "nexo"
    capabilities = Capabilities(
        inquire=True,
        cancel=True,
        void=True,
        refund=True,
        partial_refund=True,
        callback=True,
        asynchronous=True,
        dispatch_timeout=300.0,
    )

    def __init__(
        self,
        cloud: Cloud,
        settings: NexoSettings,
        reader: NotificationReader,
        *,
        secrets: tuple[str, ...] = (),
    ) -> None:
        self.cloud = cloud
        self.settings = settings
        self.reader = reader
        self._secrets = tuple(s for s in secrets if s)

    # -- payments --------------------------------------------------------------------------

    def start(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        mode = self.settings.mode
        marker = ServiceIds(ctx).claim(
            "payment", payment.id, payment.attempt, category="Payment", mode=mode
        )
        message = build.payment_request(
            self.settings.who, marker.service_id, payment, ctx.clock.now()
        )
        ctx.crashpoint("channel.before_send")
        currency = payment.amount.currency.code
        if mode == "async":
            answered = self.cloud.send_async(message)
            ctx.crashpoint("channel.after_send")
            if answered is not None:  # refused or rejected at once
                return read_reply(answered, message.MessageHeader, marker, currency=currency)
            ctx.progress(
                "sent to the terminal; waiting for the payer", service_id=marker.service_id
            )
            return Outcome.pending(
                message="the terminal has the payment; its result comes by notification",
                data={"service_id": marker.service_id},
            )
        ctx.progress("sent to the terminal; waiting for the payer", service_id=marker.service_id)
        reply = self.cloud.sync(message, long=True)
        ctx.crashpoint("channel.after_send")
        return read_reply(reply, message.MessageHeader, marker, currency=currency)

    def inquire(self, record: Record, ctx: ChannelContext) -> Outcome:
        kind: Kind = "refund" if isinstance(record, Refund) else "payment"
        marker = ServiceIds(ctx).find(kind, record.id, record.attempt)
        if marker is None:
            return Outcome.not_sent(
                "no request for this attempt ever left (its ServiceID is claimed before any "
                "byte is sent); sending again is safe"
            )
        return self._status(ctx, marker, record)

    def _status(
        self,
        ctx: ChannelContext,
        marker: Marker,
        record: Record,
        *,
        pending: bool = False,
        reply: CloudReply | None = None,
    ) -> Outcome:
        """What the terminal says of ``marker``'s attempt (``reply``: an answer already had)."""
        if reply is None:
            reply = self._ask(ctx, marker)
        waited = (ctx.clock.now() - marker.at).total_seconds()
        return read_status(
            reply,
            marker,
            currency=record.amount.currency.code,
            waited=waited,
            wait=self.settings.status_wait,
            pending=pending or record.status is Status.PENDING,
        )

    def _ask(self, ctx: ChannelContext, marker: Marker) -> CloudReply | None:
        """A status request about ``marker``'s attempt; the cloud's answer, unread."""
        target = build.reference(self.settings.who, marker.category, marker.service_id)
        message = build.status_request(self.settings.who, ServiceIds(ctx).admin(), target)
        return self.cloud.sync(message)

    def cancel(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        """Abort a payment still running at the terminal, then report how it ended."""
        ids = ServiceIds(ctx)
        marker = ids.find("payment", payment.id, payment.attempt)
        if marker is None:
            raise UnsupportedOperation(
                f"{payment.id} has not reached the cloud yet; nothing to abort (try again)"
            )
        deadline = time.monotonic() + self.settings.abort_wait
        ended = self._until_held(ctx, marker, payment, deadline)
        if ended is not None:
            return ended
        target = build.reference(self.settings.who, "Payment", marker.service_id)
        self.cloud.sync(build.abort_request(self.settings.who, ids.admin(), target))
        ctx.progress("abort sent to the terminal", service_id=marker.service_id)
        while True:
            outcome = self._status(ctx, marker, payment, pending=True)
            if outcome.status is not Status.PENDING or time.monotonic() >= deadline:
                return outcome
            time.sleep(self.settings.poll_every)

    def _until_held(
        self, ctx: ChannelContext, marker: Marker, payment: Payment, deadline: float
    ) -> Outcome | None:
        """None once the terminal holds the payment (an Abort can reach it), else how it ended.

        The ServiceID is claimed before the request leaves, so a cancel can come while the
        request is still on its way; an Abort then finds nothing and is lost, and the payment
        runs on. Until the deadline, a NotFound is asked again.
        """
        while True:
            reply = self._ask(ctx, marker)
            if not_found(reply) and time.monotonic() < deadline:
                time.sleep(self.settings.poll_every)
                continue
            outcome = self._status(ctx, marker, payment, pending=True, reply=reply)
            if outcome.status in (Status.SUCCEEDED, Status.DECLINED):
                return outcome  # it ended before the abort: nothing to abort
            if not_found(reply):
                return Outcome.pending(
                    message=f"the terminal has not received {payment.id} within "
                    f"{self.settings.abort_wait:g} s; nothing was aborted (cancel again)"
                )
            return None  # in progress, or no readable answer: abort it

    def void(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        original = _original(payment)
        ids = ServiceIds(ctx)
        for earlier in ids.each("reversal", payment.id):
            before = self._status(ctx, earlier, payment)
            if before.status is Status.REVERSED:
                return before  # an earlier reversal whose answer was lost did go through
            if before.status in (Status.PENDING, Status.UNKNOWN):
                raise OutcomeUnknownError(
                    f"an earlier reversal of {payment.id} is still undecided "
                    f"({before.message or before.reason_detail}); cancel again later"
                )
        marker = ids.claim_next("reversal", payment.id, category="Reversal")
        message = build.reversal_request(
            self.settings.who, marker.service_id, payment, original, ctx.clock.now()
        )
        try:
            outcome = self._send(ctx, message, marker, payment)
        except (OutcomeUnknownError, NexoFormatError) as exc:
            outcome = Outcome.unknown(str(exc))
        if outcome.status is Status.REVERSED:
            return outcome
        if outcome.status in (Status.UNKNOWN, Status.PENDING):
            raise OutcomeUnknownError(
                f"the reversal of {payment.id} got no readable answer ({outcome.reason_detail}); "
                "cancel again: an earlier reversal is asked about first"
            )
        raise ReversalRefused(f"the terminal did not reverse {payment.id}: {outcome.reason_detail}")

    def refund(self, refund: Refund, payment: Payment, ctx: ChannelContext) -> Outcome:
        original = _original(payment)
        marker = ServiceIds(ctx).claim("refund", refund.id, refund.attempt, category="Reversal")
        message = build.reversal_request(
            self.settings.who,
            marker.service_id,
            refund,
            original,
            ctx.clock.now(),
            amount=refund.amount,
            reason="MerchantCancel",
        )
        return self._send(ctx, message, marker, refund)

    def _send(
        self, ctx: ChannelContext, message: SaleToPOIRequest, marker: Marker, record: Record
    ) -> Outcome:
        ctx.crashpoint("channel.before_send")
        reply = self.cloud.sync(message, long=True)
        ctx.crashpoint("channel.after_send")
        return read_reply(
            reply, message.MessageHeader, marker, currency=record.amount.currency.code
        )

    # -- notifications and the terminal ----------------------------------------------------

    def parse_callback(
        self, headers: Mapping[str, str], body: bytes, ctx: ChannelContext
    ) -> tuple[list[Notice], Reply]:
        return self.reader.read(headers, body, ctx)

    def diagnosis(self, ctx: ChannelContext) -> DiagnosisResponse:
        """Ask the terminal whether it is there and working (``POIStatus.GlobalStatus``)."""
        message = build.diagnosis_request(self.settings.who, ServiceIds(ctx).admin())
        reply = self.cloud.sync(message)
        if isinstance(reply, SaleToPOIRequest):
            raise OutcomeUnknownError(
                f"the cloud could not reach the terminal: {event_text(reply)}"
            )
        if reply is None or reply.DiagnosisResponse is None:
            raise NexoFormatError("the diagnosis request got no DiagnosisResponse")
        return reply.DiagnosisResponse

    def download_report(self, ctx: ChannelContext, day: date) -> ProviderBill:
        """The acquirer's settlement report for ``day``, recorded as settlement figures.

        A cloud terminal has no end of day on its API; the acquirer's report of what it
        settled, payment by payment, is what reconciliation compares the journal with.
        """
        if not self.settings.report_url:
            raise ConfigurationError(f"{self.settings.where}: no report_url for settlement reports")
        url = f"{self.settings.report_url.rstrip('/')}/{report_name(day)}"
        raw = self.cloud.fetch(url, limit=MAX_BILL_BYTES, timeout=BILL_TIMEOUT)
        # the source is what a clerk reads in the report: the terminal and the file, no URL
        source = f"terminal {self.settings.who.poiid}: {report_name(day)}"
        bill = read_settlement_report(raw, day=day, source=source)
        record_settlement(ctx, bill.settlement(ctx.clock.now()))
        return bill

    def transcript(self) -> str:
        """The scrubbed exchanges with the cloud so far."""
        return self.cloud.transcript.text() if self.cloud.transcript is not None else ""

    def scrub(self, text: str) -> str:
        return scrub_secrets(text, self._secrets)

    def describe(self) -> str:
        return self.settings.where

    def close(self) -> None:
        self.cloud.close()


def _original(payment: Payment) -> TransactionIdentification:
    """The terminal's id of a paid payment (kept in ``channel_data`` when it was paid)."""
    raw = payment.channel_data.get("poi_transaction")
    if not isinstance(raw, dict) or not raw.get("id") or not raw.get("timestamp"):
        raise UnsupportedOperation(
            f"{payment.id} has no terminal transaction id; it cannot be reversed or refunded here"
        )
    return TransactionIdentification(TransactionID=str(raw["id"]), TimeStamp=str(raw["timestamp"]))
