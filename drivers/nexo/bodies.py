"""The bodies this driver speaks: Payment, Reversal, Abort, TransactionStatus, Diagnosis, events.

Each is named on the wire as the key it travels under (``PaymentRequest``,
``ReversalResponse``...). A reversal with ``ReversedAmount`` is a (partial) refund of the
original; without it, the whole payment is voided. ``RepeatedMessageResponse`` is how a
status answer hands back the original response, header and all.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

from pydantic import Field

from paychannels.drivers.nexo import common as c
from paychannels.drivers.nexo import fields as f
from paychannels.drivers.nexo import header as h
from paychannels.drivers.nexo.fields import Amount, Ident, NexoModel

__all__ = [
    "AbortRequest",
    "DiagnosisRequest",
    "DiagnosisResponse",
    "EventNotification",
    "HostStatus",
    "POIStatus",
    "PaymentData",
    "PaymentRequest",
    "PaymentResponse",
    "PaymentTransaction",
    "RepeatedMessageResponse",
    "RepeatedResponseMessageBody",
    "ReversalRequest",
    "ReversalResponse",
    "TransactionStatusRequest",
    "TransactionStatusResponse",
]


class PaymentTransaction(NexoModel):
    """What is to be paid."""

    AmountsReq: c.AmountsReq


_PaymentTransaction: TypeAlias = PaymentTransaction


class PaymentData(NexoModel):
    """``PaymentType``: Normal (default) or Refund (an unreferenced refund)."""

    PaymentType: str | None = Field(default=None, max_length=32)


_PaymentData: TypeAlias = PaymentData


class PaymentRequest(NexoModel):
    """Take a payment on the terminal."""

    SaleData: c.SaleData
    PaymentTransaction: _PaymentTransaction
    PaymentData: _PaymentData | None = None


class PaymentResponse(NexoModel):
    """How the payment went (``SaleData`` and ``POIData`` are absent from some refusals)."""

    Response: c.Response
    SaleData: c.SaleData | None = None
    POIData: c.POIData | None = None
    PaymentResult: c.PaymentResult | None = None
    PaymentReceipt: list[c.PaymentReceipt] | None = Field(default=None, max_length=8)


_PaymentResponse: TypeAlias = PaymentResponse


class ReversalRequest(NexoModel):
    """Void a payment, or refund part of it (``ReversedAmount``)."""

    OriginalPOITransaction: c.OriginalPOITransaction
    ReversalReason: str = Field(min_length=1, max_length=32)
    ReversedAmount: Amount | None = None
    SaleData: c.SaleData | None = None


class ReversalResponse(NexoModel):
    """How the reversal went."""

    Response: c.Response
    POIData: c.POIData | None = None
    OriginalPOITransaction: c.OriginalPOITransaction | None = None
    ReversedAmount: Amount | None = None
    PaymentReceipt: list[c.PaymentReceipt] | None = Field(default=None, max_length=8)


_ReversalResponse: TypeAlias = ReversalResponse


class AbortRequest(NexoModel):
    """Stop a request still in progress (a payment waiting for the card); no response body."""

    MessageReference: h.MessageReference
    AbortReason: str = Field(min_length=1, max_length=64)


class TransactionStatusRequest(NexoModel):
    """What became of an earlier request (without a reference: of the last one)."""

    MessageReference: h.MessageReference | None = None
    ReceiptReprintFlag: bool | None = None
    DocumentQualifier: list[str] | None = None


class RepeatedResponseMessageBody(NexoModel):
    """The original response, as it was (or would have been) sent."""

    PaymentResponse: _PaymentResponse | None = None
    ReversalResponse: _ReversalResponse | None = None


_RepeatedResponseMessageBody: TypeAlias = RepeatedResponseMessageBody


class RepeatedMessageResponse(NexoModel):
    """The original response's header and body."""

    MessageHeader: h.MessageHeader
    RepeatedResponseMessageBody: _RepeatedResponseMessageBody


_RepeatedMessageResponse: TypeAlias = RepeatedMessageResponse


class TransactionStatusResponse(NexoModel):
    """Success with the repeated response, or Failure: InProgress, NotFound..."""

    Response: c.Response
    MessageReference: h.MessageReference | None = None
    RepeatedMessageResponse: _RepeatedMessageResponse | None = None


class DiagnosisRequest(NexoModel):
    """Is the terminal there and working (and, if asked, its acquirers)?"""

    HostDiagnosisFlag: bool | None = None
    POIID: Ident | None = None


class POIStatus(NexoModel):
    """The terminal's state."""

    GlobalStatus: Literal["OK", "Busy", "Maintenance", "Unreachable"]
    CommunicationOKFlag: bool | None = None
    PEDOKFlag: bool | None = None
    PrinterStatus: str | None = Field(default=None, max_length=32)


_POIStatus: TypeAlias = POIStatus


class HostStatus(NexoModel):
    """Whether an acquirer host can be reached."""

    AcquirerID: str = Field(max_length=64)
    IsReachableFlag: bool | None = None


_HostStatus: TypeAlias = HostStatus


class DiagnosisResponse(NexoModel):
    """The diagnosis."""

    Response: c.Response
    POIStatus: _POIStatus | None = None
    HostStatus: list[_HostStatus] | None = None
    LoggedSaleID: list[str] | None = None


class EventNotification(NexoModel):
    """Unasked news: a rejected request (``Reject``), maintenance, a terminal going away."""

    EventToNotify: str = Field(min_length=1, max_length=32)
    TimeStamp: f.TimeStamp
    EventDetails: f.Text | None = None
    RejectedMessage: str | None = Field(default=None, max_length=1 << 18)
    MaintenanceRequiredFlag: bool | None = None
