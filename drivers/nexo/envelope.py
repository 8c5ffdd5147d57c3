"""Whole messages: ``{"SaleToPOIRequest": {...}}`` and ``{"SaleToPOIResponse": {...}}``.

A message is a ``MessageHeader`` and exactly one body; the header's category and type must
match the body (a ``PaymentRequest`` travels as category Payment, type Request). Reading
accepts what clouds actually send: a response wrapped as ``SaleToPOIRequest`` (how some
deliver asynchronous results) and an ``EventNotification`` instead of a response (a request
the cloud or the terminal rejected). Errors name the JSON path of the field at fault.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import ValidationError, model_validator

from paychannels.drivers.nexo import bodies as b
from paychannels.drivers.nexo import header as h
from paychannels.drivers.nexo import wire
from paychannels.drivers.nexo.errors import NexoFormatError
from paychannels.drivers.nexo.fields import NexoModel, dump

__all__ = [
    "REQUEST_BODIES",
    "RESPONSE_BODIES",
    "Reply",
    "SaleToPOIRequest",
    "SaleToPOIResponse",
    "decode_reply",
    "decode_request",
    "encode",
]

#: body key -> header MessageCategory
REQUEST_BODIES = {
    "PaymentRequest": "Payment",
    "ReversalRequest": "Reversal",
    "AbortRequest": "Abort",
    "TransactionStatusRequest": "TransactionStatus",
    "DiagnosisRequest": "Diagnosis",
    "EventNotification": "Event",
}
RESPONSE_BODIES = {
    "PaymentResponse": "Payment",
    "ReversalResponse": "Reversal",
    "TransactionStatusResponse": "TransactionStatus",
    "DiagnosisResponse": "Diagnosis",
}


def _one_body(message: NexoModel, bodies: dict[str, str], what: str) -> str:
    present = [key for key in bodies if getattr(message, key) is not None]
    if len(present) != 1:
        found = ", ".join(present) or "none"
        raise ValueError(f"must carry exactly one of {', '.join(bodies)} (found {found})")
    key = present[0]
    header: h.MessageHeader = message.MessageHeader  # type: ignore[attr-defined]
    if header.MessageCategory != bodies[key]:
        raise ValueError(
            f"MessageHeader.MessageCategory is {header.MessageCategory!r}, "
            f"but the {what} carries {key}"
        )
    event = key == "EventNotification"
    want_type = "Notification" if event else ("Request" if what == "request" else "Response")
    if header.MessageType != want_type:
        raise ValueError(f"MessageHeader.MessageType must be {want_type!r} for {key}")
    if (header.MessageClass == "Event") != event:
        raise ValueError(f"MessageHeader.MessageClass {header.MessageClass!r} does not fit {key}")
    if not event and header.ServiceID is None:
        raise ValueError("MessageHeader.ServiceID is required")
    return key


class SaleToPOIRequest(NexoModel):
    """A request from the sale system (or an event notification)."""

    MessageHeader: h.MessageHeader
    PaymentRequest: b.PaymentRequest | None = None
    ReversalRequest: b.ReversalRequest | None = None
    AbortRequest: b.AbortRequest | None = None
    TransactionStatusRequest: b.TransactionStatusRequest | None = None
    DiagnosisRequest: b.DiagnosisRequest | None = None
    EventNotification: b.EventNotification | None = None

    @model_validator(mode="after")
    def _check(self) -> SaleToPOIRequest:
        _one_body(self, REQUEST_BODIES, "request")
        return self

    @property
    def body_name(self) -> str:
        """The key of the body it carries (``PaymentRequest``...)."""
        return next(k for k in REQUEST_BODIES if getattr(self, k) is not None)


class SaleToPOIResponse(NexoModel):
    """A terminal's response."""

    MessageHeader: h.MessageHeader
    PaymentResponse: b.PaymentResponse | None = None
    ReversalResponse: b.ReversalResponse | None = None
    TransactionStatusResponse: b.TransactionStatusResponse | None = None
    DiagnosisResponse: b.DiagnosisResponse | None = None

    @model_validator(mode="after")
    def _check(self) -> SaleToPOIResponse:
        _one_body(self, RESPONSE_BODIES, "response")
        return self

    @property
    def body_name(self) -> str:
        """The key of the body it carries (``PaymentResponse``...)."""
        return next(k for k in RESPONSE_BODIES if getattr(self, k) is not None)


Reply = SaleToPOIResponse | SaleToPOIRequest
M = TypeVar("M", bound=NexoModel)


def _validate(model: type[M], data: Any, root: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        path = ".".join(str(p) for p in (root, *err["loc"]))
        message = str(err["msg"]).removeprefix("Value error, ")
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise NexoFormatError(message + more, where=path) from None


def _root(data: dict[str, Any], allowed: tuple[str, ...]) -> tuple[str, Any]:
    keys = [k for k in data if k in allowed]
    if len(data) != 1 or len(keys) != 1:
        raise NexoFormatError(
            f"must be an object with one member, {' or '.join(allowed)} (has {sorted(data)[:4]})",
            where="body",
        )
    return keys[0], data[keys[0]]


def decode_request(raw: bytes | str) -> SaleToPOIRequest:
    """A sale system's request (what the simulated terminal reads)."""
    name, value = _root(wire.decode(raw), ("SaleToPOIRequest",))
    return _validate(SaleToPOIRequest, value, name)


def decode_reply(raw: bytes | str) -> Reply:
    """A response, or the event notification a cloud sends instead of one."""
    name, value = _root(wire.decode(raw), ("SaleToPOIResponse", "SaleToPOIRequest"))
    if name == "SaleToPOIRequest" and isinstance(value, dict):
        if any(key in value for key in RESPONSE_BODIES):  # a response in a request's wrapper
            return _validate(SaleToPOIResponse, value, name)
        request = _validate(SaleToPOIRequest, value, name)
        if request.EventNotification is None:
            raise NexoFormatError("carries a request, not a response or an event", where=name)
        return request
    return _validate(SaleToPOIResponse, value, name)


def encode(message: SaleToPOIRequest | SaleToPOIResponse) -> bytes:
    """The wire bytes of a message, under its root key."""
    root = "SaleToPOIRequest" if isinstance(message, SaleToPOIRequest) else "SaleToPOIResponse"
    return wire.encode({root: dump(message)})
