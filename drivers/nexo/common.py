"""Parts shared by several nexo bodies: the result of a request, ids, amounts, receipts.

``Response`` carries ``Result`` (Success, Partial or Failure), an ``ErrorCondition`` when it
failed (Aborted, Busy, Cancel, DeviceOut, InProgress, InsertedCard, InvalidCard, LoggedOut,
MessageFormat, NotAllowed, NotFound, PaymentRestriction, Refusal, UnavailableDevice,
UnavailableService, UnreachableHost, WrongPIN) and ``AdditionalResponse`` (URL-encoded
``key=value`` pairs, or base64 JSON, for logging and refusal reasons).
"""

from __future__ import annotations

from typing import Literal, TypeAlias

from pydantic import Field, JsonValue

from paychannels.drivers.nexo import fields as f
from paychannels.drivers.nexo.fields import Amount, CurrencyCode, Ident, NexoModel

__all__ = [
    "ERROR_CONDITIONS",
    "AmountsReq",
    "AmountsResp",
    "CardData",
    "OriginalPOITransaction",
    "OutputContent",
    "OutputText",
    "POIData",
    "PaymentAcquirerData",
    "PaymentInstrumentData",
    "PaymentReceipt",
    "PaymentResult",
    "Response",
    "SaleData",
    "TransactionIdentification",
]

ERROR_CONDITIONS = (
    "Aborted",
    "Busy",
    "Cancel",
    "DeviceOut",
    "InProgress",
    "InsertedCard",
    "InvalidCard",
    "LoggedOut",
    "MessageFormat",
    "NotAllowed",
    "NotFound",
    "PaymentRestriction",
    "Refusal",
    "UnavailableDevice",
    "UnavailableService",
    "UnreachableHost",
    "WrongPIN",
)


class Response(NexoModel):
    """How a request went; an ``ErrorCondition`` we do not know is kept, not refused."""

    Result: Literal["Success", "Partial", "Failure"]
    ErrorCondition: str | None = Field(default=None, max_length=64)
    AdditionalResponse: f.Text | None = None


class TransactionIdentification(NexoModel):
    """A transaction as the sale system or the terminal knows it."""

    TransactionID: str = Field(min_length=1, max_length=128)
    TimeStamp: f.TimeStamp


_TransactionIdentification: TypeAlias = TransactionIdentification


class SaleData(NexoModel):
    """The sale system's side of a transaction (echoed in the response)."""

    SaleTransactionID: _TransactionIdentification
    SaleReferenceID: str | None = Field(default=None, max_length=128)
    OperatorID: str | None = Field(default=None, max_length=64)
    #: Adyen sends an object (application info) or base64 text
    SaleToAcquirerData: str | dict[str, JsonValue] | None = None


class AmountsReq(NexoModel):
    """The requested amount in major units."""

    Currency: CurrencyCode
    RequestedAmount: Amount | None = None


class AmountsResp(NexoModel):
    """The amount the terminal authorised."""

    AuthorizedAmount: Amount
    Currency: CurrencyCode | None = None


_AmountsResp: TypeAlias = AmountsResp


class POIData(NexoModel):
    """The terminal's side of a transaction: its id, needed to reverse or refund it."""

    POITransactionID: _TransactionIdentification
    POIReconciliationID: str | None = Field(default=None, max_length=64)


class OriginalPOITransaction(NexoModel):
    """The earlier transaction a reversal or a refund refers to."""

    POITransactionID: _TransactionIdentification | None = None
    SaleID: Ident | None = None
    POIID: Ident | None = None


class CardData(NexoModel):
    """What the terminal tells about the card (never the full number)."""

    MaskedPan: str | None = Field(default=None, max_length=32)
    PaymentBrand: str | None = Field(default=None, max_length=64)
    EntryMode: list[str] | None = None


_CardData: TypeAlias = CardData


class PaymentInstrumentData(NexoModel):
    """How the payer paid."""

    PaymentInstrumentType: str | None = Field(default=None, max_length=32)
    CardData: _CardData | None = None


_PaymentInstrumentData: TypeAlias = PaymentInstrumentData


class PaymentAcquirerData(NexoModel):
    """The acquirer's side: approval code and transaction id."""

    AcquirerPOIID: str | None = Field(default=None, max_length=64)
    MerchantID: str | None = Field(default=None, max_length=64)
    ApprovalCode: str | None = Field(default=None, max_length=32)
    AcquirerTransactionID: _TransactionIdentification | None = None


_PaymentAcquirerData: TypeAlias = PaymentAcquirerData


class PaymentResult(NexoModel):
    """What a payment achieved."""

    PaymentType: str | None = Field(default=None, max_length=32)
    AmountsResp: _AmountsResp | None = None
    PaymentInstrumentData: _PaymentInstrumentData | None = None
    PaymentAcquirerData: _PaymentAcquirerData | None = None
    OnlineFlag: bool | None = None


class OutputText(NexoModel):
    """One line (or piece of a line) of a receipt."""

    Text: f.Text | None = None
    EndOfLineFlag: bool | None = None
    CharacterStyle: str | None = Field(default=None, max_length=32)


_OutputText: TypeAlias = OutputText


class OutputContent(NexoModel):
    """A receipt's content; we read the text format."""

    OutputFormat: str = Field(max_length=32)
    OutputText: list[_OutputText] | None = Field(default=None, max_length=512)


_OutputContent: TypeAlias = OutputContent


class PaymentReceipt(NexoModel):
    """A receipt for the cashier or the customer."""

    DocumentQualifier: str = Field(max_length=32)
    OutputContent: _OutputContent
    RequiredSignatureFlag: bool | None = None
