"""Building the requests the channel sends, from journal records and the channel's settings.

Our payment or refund id travels as ``SaleData.SaleTransactionID.TransactionID``, so a
terminal's journal, its receipts and the cloud's reports name the journal's record. The
header's ``ServiceID`` comes from ``serviceids``; ``SaleID`` names this sale system.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from paychannels.drivers.nexo.bodies import (
    AbortRequest,
    DiagnosisRequest,
    PaymentRequest,
    PaymentTransaction,
    ReversalRequest,
    TransactionStatusRequest,
)
from paychannels.drivers.nexo.common import (
    AmountsReq,
    OriginalPOITransaction,
    SaleData,
    TransactionIdentification,
)
from paychannels.drivers.nexo.envelope import SaleToPOIRequest
from paychannels.drivers.nexo.header import MessageHeader, MessageReference
from paychannels.values.models import Record
from paychannels.values.money import Money

__all__ = [
    "PROTOCOL_VERSION",
    "Identity",
    "abort_request",
    "diagnosis_request",
    "payment_request",
    "reference",
    "reversal_request",
    "stamp",
    "status_request",
]

PROTOCOL_VERSION = "3.0"


@dataclass(frozen=True, slots=True)
class Identity:
    """Who we are and which terminal we speak to."""

    sale_id: str
    poiid: str


def stamp(now: datetime) -> str:
    """``2026-01-05T09:00:00.000Z``: a nexo time stamp (UTC, milliseconds)."""
    return now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _header(who: Identity, category: str, service_id: str) -> MessageHeader:
    return MessageHeader(
        ProtocolVersion=PROTOCOL_VERSION,
        MessageClass="Service",
        MessageCategory=category,
        MessageType="Request",
        ServiceID=service_id,
        SaleID=who.sale_id,
        POIID=who.poiid,
    )


def reference(who: Identity, category: str, service_id: str) -> MessageReference:
    """A reference to one of our earlier requests (to abort it or ask its status)."""
    return MessageReference(
        MessageCategory=category, SaleID=who.sale_id, ServiceID=service_id, POIID=who.poiid
    )


def _sale_data(record: Record, now: datetime) -> SaleData:
    return SaleData(
        SaleTransactionID=TransactionIdentification(TransactionID=record.id, TimeStamp=stamp(now)),
        OperatorID=record.operator,
    )


def payment_request(
    who: Identity, service_id: str, payment: Record, now: datetime
) -> SaleToPOIRequest:
    """Take ``payment.amount`` on the terminal."""
    amount = payment.amount
    return SaleToPOIRequest(
        MessageHeader=_header(who, "Payment", service_id),
        PaymentRequest=PaymentRequest(
            SaleData=_sale_data(payment, now),
            PaymentTransaction=PaymentTransaction(
                AmountsReq=AmountsReq(Currency=amount.currency.code, RequestedAmount=amount.amount)
            ),
        ),
    )


def reversal_request(
    who: Identity,
    service_id: str,
    record: Record,
    original: TransactionIdentification,
    now: datetime,
    *,
    amount: Money | None = None,
    reason: str = "MerchantCancel",
) -> SaleToPOIRequest:
    """Void ``original`` in full, or refund ``amount`` of it (``record`` is the refund)."""
    return SaleToPOIRequest(
        MessageHeader=_header(who, "Reversal", service_id),
        ReversalRequest=ReversalRequest(
            OriginalPOITransaction=OriginalPOITransaction(
                POITransactionID=original, SaleID=who.sale_id, POIID=who.poiid
            ),
            ReversalReason=reason,
            ReversedAmount=None if amount is None else amount.amount,
            SaleData=_sale_data(record, now),
        ),
    )


def abort_request(who: Identity, service_id: str, target: MessageReference) -> SaleToPOIRequest:
    """Abort the request ``target`` names (a payment waiting for the card)."""
    return SaleToPOIRequest(
        MessageHeader=_header(who, "Abort", service_id),
        AbortRequest=AbortRequest(MessageReference=target, AbortReason="MerchantAbort"),
    )


def status_request(who: Identity, service_id: str, target: MessageReference) -> SaleToPOIRequest:
    """Ask what became of the request ``target`` names."""
    return SaleToPOIRequest(
        MessageHeader=_header(who, "TransactionStatus", service_id),
        TransactionStatusRequest=TransactionStatusRequest(MessageReference=target),
    )


def diagnosis_request(who: Identity, service_id: str) -> SaleToPOIRequest:
    """Ask whether the terminal is there and working."""
    return SaleToPOIRequest(
        MessageHeader=_header(who, "Diagnosis", service_id),
        DiagnosisRequest=DiagnosisRequest(HostDiagnosisFlag=True, POIID=who.poiid),
    )
