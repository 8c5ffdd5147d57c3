"""Event notifications from the cloud: asynchronous results, verified on their raw bytes.

The cloud posts a result (``SaleToPOIResponse`` with a ``PaymentResponse`` or
``ReversalResponse``) or an event (``EventNotification``) to the backend's callback URL. The
body's HMAC (``paychannels.security.webhooks.TimestampedHmac``: ``t=...,v1=...`` in a header, a time
window, several secrets during rotation, constant-time comparison) proves the sender. A
genuine but stale notification, and every event, is only a hint: the Collector then asks
the terminal's status (rate-limited per payment) instead of believing it; a forged one (bad
or malformed MAC) is refused and asks nothing. The ServiceID in the header names the attempt
(see ``serviceids``) and the notice carries it: the Collector records news about an attempt
that was followed by a later one and never applies it (a stale "money taken" asks a person
to look).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from paychannels.channels.base import ChannelContext, Notice, Reply
from paychannels.drivers.nexo.build import Identity
from paychannels.drivers.nexo.envelope import SaleToPOIRequest, SaleToPOIResponse, decode_reply
from paychannels.drivers.nexo.errors import NexoFormatError
from paychannels.drivers.nexo.inquiry import body_outcome
from paychannels.drivers.nexo.serviceids import ServiceIds
from paychannels.security.masking import scrub
from paychannels.security.verification import CallbackRejected, Headers
from paychannels.security.webhooks import TimestampedHmac

__all__ = ["ACCEPTED", "DEFAULT_HEADER", "NotificationReader"]

log = logging.getLogger("paychannels.drivers.nexo")

DEFAULT_HEADER = "Nexo-Signature"
ACCEPTED = Reply(status_code=200, headers={"Content-Type": "text/plain"}, body=b"[accepted]")
SOURCE = "nexo notification"


class NotificationReader:
    """Verifies and reads notifications for one terminal; see the module docstring."""

    def __init__(self, who: Identity, verifier: TimestampedHmac | None, *, currency: str) -> None:
        self.who = who
        self.verifier = verifier
        self.currency = currency

    def read(
        self, headers: Mapping[str, str], body: bytes, ctx: ChannelContext
    ) -> tuple[list[Notice], Reply]:
        hdrs = headers if isinstance(headers, Headers) else Headers(headers)
        error: CallbackRejected | None = None
        if self.verifier is None:
            error = CallbackRejected("no notification secret is configured", where="channel")
        else:
            try:
                self.verifier.verify(hdrs, body)
            except CallbackRejected as exc:
                error = exc
        try:
            message = decode_reply(body)
        except NexoFormatError as exc:
            log.warning("%s: unreadable notification: %s", ctx.channel_name, scrub(str(exc)))
            return [], _rejected(error or CallbackRejected(str(exc)))
        if error is not None and not (error.worth_asking or self.verifier is None):
            # a forgery (bad MAC, malformed header) is not even a hint: nothing is asked
            log.warning("%s: notification refused: %s", ctx.channel_name, scrub(str(error)))
            return [], _rejected(error)
        notices = self._notices(message, ServiceIds(ctx), verified=error is None)
        if error is not None:
            log.warning(
                "%s: notification not proven (%s); %d hint(s) to inquire",
                ctx.channel_name,
                scrub(str(error)),
                len(notices),
            )
            return notices, _rejected(error)
        return notices, ACCEPTED

    def _notices(
        self, message: SaleToPOIRequest | SaleToPOIResponse, ids: ServiceIds, *, verified: bool
    ) -> list[Notice]:
        header = message.MessageHeader
        marker = ids.owner(header.ServiceID) if header.ServiceID else None
        if marker is None:
            return []  # not one of ours (or an event about no request of ours)
        target = marker.record_id
        if isinstance(message, SaleToPOIRequest) or not verified:
            return [Notice(payment_id=target, verified=False, source=SOURCE)]
        body = message.PaymentResponse or message.ReversalResponse
        if body is None:
            return []
        outcome = body_outcome(body, marker, self._currency_of(message))
        problem = self._problem(message)
        amount = outcome.amount_taken if body.Response.Result == "Success" else None
        return [
            Notice(
                payment_id=target,
                attempt=marker.attempt,
                outcome=outcome,
                verified=True,
                amount=amount,
                problem=problem,
                source=SOURCE,
                data={"service_id": marker.service_id, "attempt": marker.attempt},
            )
        ]

    def _currency_of(self, message: SaleToPOIResponse) -> str:
        result = message.PaymentResponse.PaymentResult if message.PaymentResponse else None
        amounts = result.AmountsResp if result is not None else None
        return (amounts.Currency if amounts is not None else None) or self.currency

    def _problem(self, message: SaleToPOIResponse) -> str | None:
        header = message.MessageHeader
        if self.who.poiid != header.POIID or header.SaleID != self.who.sale_id:
            return (
                f"notification from terminal {header.POIID} for sale system {header.SaleID}; "
                f"this channel is {self.who.poiid} for {self.who.sale_id}"
            )
        return None


def _rejected(error: CallbackRejected) -> Reply:
    return Reply(
        status_code=error.status,
        headers={"Content-Type": "text/plain"},
        body=b"rejected",
    )
