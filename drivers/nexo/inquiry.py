"""Reading the answers that decide a payment: a direct reply, or a status request's answer.

A reply is the response to our request only if its header repeats our ids; an event
notification instead of a reply (the cloud rejected the request, or the terminal did not
answer it in time) leaves the attempt in doubt. A status answer (``TransactionStatusResponse``)
decides it when it carries the original response; ``InProgress`` means the terminal still
holds it; ``NotFound`` proves nothing ran only once the cloud's own waiting time (150 s,
terminals.md §5) is over — before that, the request may still be on its way.
"""

from __future__ import annotations

from paychannels.drivers.nexo.additional import additional
from paychannels.drivers.nexo.bodies import PaymentResponse, ReversalResponse
from paychannels.drivers.nexo.envelope import Reply, SaleToPOIRequest
from paychannels.drivers.nexo.header import MessageHeader
from paychannels.drivers.nexo.outcomes import payment_outcome, reversal_outcome
from paychannels.drivers.nexo.serviceids import Marker
from paychannels.values.models import Outcome
from paychannels.values.status import Status

__all__ = ["body_outcome", "event_text", "not_found", "read_reply", "read_status"]


def event_text(message: SaleToPOIRequest) -> str:
    """What an event notification says (``Reject: Did not receive a response from the POI.``)."""
    event = message.EventNotification
    if event is None:
        return "no event"
    details = additional(event.EventDetails)
    said = details.get("message") or (event.EventDetails or "")
    return f"{event.EventToNotify}: {said[:160]}".rstrip(": ")


def body_outcome(
    body: PaymentResponse | ReversalResponse, marker: Marker, currency: str
) -> Outcome:
    """What a payment or reversal response means for the attempt ``marker`` names; a payment
    response echoing another sale transaction id decides nothing (a ServiceID mix-up)."""
    if isinstance(body, PaymentResponse):
        sale = body.SaleData
        named = sale.SaleTransactionID.TransactionID if sale is not None else marker.record_id
        if named != marker.record_id:
            return Outcome.unknown(
                f"the answer for ServiceID {marker.service_id} is about transaction {named}, "
                f"not {marker.record_id}"
            )
        return payment_outcome(body, currency=currency, service_id=marker.service_id)
    success = Status.REVERSED if marker.kind == "reversal" else Status.SUCCEEDED
    return reversal_outcome(body, service_id=marker.service_id, success=success)


def read_reply(
    reply: Reply | None, request: MessageHeader, marker: Marker, *, currency: str
) -> Outcome:
    """The outcome a direct reply to our payment, refund or reversal request means."""
    if reply is None:
        return Outcome.unknown("the cloud answered with an empty body")
    if isinstance(reply, SaleToPOIRequest):
        return Outcome.unknown(f"the cloud sent an event instead of an answer: {event_text(reply)}")
    if not reply.MessageHeader.answers(request):
        return Outcome.unknown(
            f"the answer names ServiceID {reply.MessageHeader.ServiceID} of "
            f"{reply.MessageHeader.POIID}, not ours ({request.ServiceID} of {request.POIID})"
        )
    body = reply.PaymentResponse or reply.ReversalResponse
    if body is None:
        return Outcome.unknown(f"the answer carries {reply.body_name}, not a transaction result")
    return body_outcome(body, marker, currency)


def not_found(reply: Reply | None) -> bool:
    """The terminal answered a status request with NotFound: it holds no such transaction
    (yet: a request on its way is not found either)."""
    if reply is None or isinstance(reply, SaleToPOIRequest):
        return False
    status = reply.TransactionStatusResponse
    if status is None:
        return False
    return status.Response.Result == "Failure" and status.Response.ErrorCondition == "NotFound"


def read_status(
    reply: Reply | None,
    marker: Marker,
    *,
    currency: str,
    waited: float,
    wait: float,
    pending: bool,
) -> Outcome:
    """What a status answer says about ``marker``'s attempt; ``waited`` seconds since it left."""
    if reply is None:
        return Outcome.unknown("the cloud answered the status request with an empty body")
    if isinstance(reply, SaleToPOIRequest):
        return Outcome.unknown(
            f"the status request did not reach the terminal: {event_text(reply)}"
        )
    status = reply.TransactionStatusResponse
    if status is None:
        return Outcome.unknown(f"a status request was answered with {reply.body_name}")
    r = status.Response
    if r.Result != "Failure":
        repeated = status.RepeatedMessageResponse
        if repeated is None:
            return Outcome.unknown("the status answer carries no repeated response")
        if repeated.MessageHeader.ServiceID != marker.service_id:
            return Outcome.unknown(
                f"the status answer repeats ServiceID {repeated.MessageHeader.ServiceID}, "
                f"not {marker.service_id}"
            )
        inner = repeated.RepeatedResponseMessageBody
        body = inner.PaymentResponse or inner.ReversalResponse
        if body is None:
            return Outcome.unknown("the repeated response carries no transaction result")
        return body_outcome(body, marker, currency)
    said = additional(r.AdditionalResponse).get("message", "")
    match r.ErrorCondition:
        case "InProgress":
            return Outcome.pending(message="the terminal is still working on it")
        case "NotFound" if waited >= wait:
            return Outcome.not_sent(
                f"the terminal has no transaction for ServiceID {marker.service_id} and the "
                f"cloud's waiting time ({wait:g} s) is over: it never ran; sending again is safe"
            )
        case "NotFound" if pending:
            return Outcome.pending(message="the terminal has not seen it yet")
        case "NotFound":
            return Outcome.unknown(
                f"not found at the terminal {waited:.0f} s after sending; only after "
                f"{wait:g} s does that prove it never ran"
            )
        case _:
            return Outcome.unknown(f"status request failed: {r.ErrorCondition} {said[:120]}")
