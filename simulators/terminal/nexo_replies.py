"""The simulated terminal's nexo answers: responses built from what the core booked.

A booked, approved transaction answers Success with the authorised amount, the terminal's
transaction id (``<terminal id>.<receipt>.<trace>``: what a reversal or refund names later),
the masked card and both receipts — the same lines the ZVT front prints, because they come
from the same core. Refusals answer Failure with the ErrorCondition a nexo terminal uses
(Refusal, Cancel, Aborted, NotAllowed, Busy) and Adyen-style ``refusalReason`` texts.
"""

from __future__ import annotations

import base64
from datetime import datetime
from decimal import Decimal
from urllib.parse import urlencode

from paychannels.drivers.nexo import bodies as b
from paychannels.drivers.nexo import common as c
from paychannels.drivers.nexo.build import PROTOCOL_VERSION, stamp
from paychannels.drivers.nexo.envelope import SaleToPOIRequest, SaleToPOIResponse
from paychannels.drivers.nexo.header import MessageHeader
from paychannels.security.masking import mask_pan
from paychannels.simulators.terminal.core import SimTerminal
from paychannels.simulators.terminal.journal import SimTxn
from paychannels.values.money import Money

__all__ = [
    "event",
    "failure",
    "poi_transaction_id",
    "response_header",
    "trace_of",
    "transaction_response",
]

_REFUSALS = {51: "Not enough balance", 5: "Refused", 55: "Invalid Pin", 54: "Expired Card"}


def poi_transaction_id(terminal: SimTerminal, txn: SimTxn) -> str:
    """How the terminal names a transaction: ``29001234.0042.000123``."""
    return f"{terminal.terminal_id:08d}.{txn.receipt:04d}.{txn.trace:06d}"


def trace_of(transaction_id: str) -> int | None:
    """The trace number in one of our transaction ids (None: not one of ours)."""
    parts = transaction_id.split(".")
    if len(parts) != 3 or not parts[2].isdigit():
        return None
    return int(parts[2])


def response_header(request: MessageHeader) -> MessageHeader:
    """The response header: the request's, as a Response."""
    return request.model_copy(update={"MessageType": "Response"})


def failure(condition: str, message: str, **extra: str) -> c.Response:
    """A Failure with a condition and Adyen-style additional data."""
    return c.Response(
        Result="Failure",
        ErrorCondition=condition,
        AdditionalResponse=urlencode({**extra, "message": message}),
    )


def _receipts(terminal: SimTerminal, txn: SimTxn) -> list[c.PaymentReceipt]:
    lines = terminal.receipt_lines(txn, chinese=True)
    return [
        c.PaymentReceipt(
            DocumentQualifier=qualifier,
            OutputContent=c.OutputContent(
                OutputFormat="Text",
                OutputText=[c.OutputText(Text=line, EndOfLineFlag=True) for line in lines],
            ),
            RequiredSignatureFlag=False,
        )
        for qualifier in ("CashierReceipt", "CustomerReceipt")
    ]


def _poi_data(terminal: SimTerminal, txn: SimTxn) -> c.POIData:
    return c.POIData(
        POITransactionID=c.TransactionIdentification(
            TransactionID=poi_transaction_id(terminal, txn), TimeStamp=txn.at
        ),
        POIReconciliationID=str(txn.batch),
    )


def _attempt_data(terminal: SimTerminal, request: SaleToPOIRequest) -> c.POIData:
    """POIData for an attempt that booked nothing (aborted, cancelled, refused before the card):
    Adyen's models require it on every PaymentResponse. The id names the attempt, not a
    booking: it has no trace, so nothing can mistake it for a transaction to reverse."""
    attempt = f"{terminal.terminal_id:08d}.{request.MessageHeader.ServiceID or 'none'}"
    return c.POIData(
        POITransactionID=c.TransactionIdentification(
            TransactionID=attempt, TimeStamp=stamp(datetime.now())
        )
    )


def _verdict(terminal: SimTerminal, txn: SimTxn | None) -> c.Response:
    """Success, or the refusal a nexo terminal gives for the core's result code."""
    if txn is None:  # stopped at the card prompt: nothing booked
        return failure("Cancel", "Cancelled on the terminal", refusalReason="Shopper Cancelled")
    psp = {"pspReference": f"{terminal.terminal_id:08d}{txn.trace:08d}"}
    if txn.approved:
        return c.Response(Result="Success", AdditionalResponse=urlencode(psp))
    if txn.result_code == 0x6C:
        return failure("Cancel", "PIN entry timed out", refusalReason="Shopper Cancelled", **psp)
    reason = _REFUSALS.get(txn.result_code, "Refused")
    return failure("Refusal", f"host code {txn.result_code:02X}", refusalReason=reason, **psp)


def transaction_response(
    terminal: SimTerminal,
    request: SaleToPOIRequest,
    txn: SimTxn | None,
    response: c.Response | None = None,
) -> SaleToPOIResponse:
    """The answer to a payment or reversal request: for a booking, or a given refusal."""
    header = response_header(request.MessageHeader)
    if response is None:
        response = _verdict(terminal, txn)
    poi = _poi_data(terminal, txn) if txn is not None else None
    receipts = _receipts(terminal, txn) if txn is not None else None
    if request.ReversalRequest is not None:
        reversal = request.ReversalRequest
        return SaleToPOIResponse(
            MessageHeader=header,
            ReversalResponse=b.ReversalResponse(
                Response=response,
                POIData=poi,
                OriginalPOITransaction=reversal.OriginalPOITransaction,
                ReversedAmount=reversal.ReversedAmount,
                PaymentReceipt=receipts,
            ),
        )
    payment = request.PaymentRequest
    assert payment is not None
    if poi is None:
        poi = _attempt_data(terminal, request)
    result = None
    if txn is not None and txn.approved:
        money = Money.of_minor(txn.amount, terminal.currency.code)
        result = c.PaymentResult(
            PaymentType="Normal",
            AmountsResp=c.AmountsResp(
                AuthorizedAmount=Decimal(money.to_decimal_string()), Currency=money.currency.code
            ),
            PaymentInstrumentData=c.PaymentInstrumentData(
                PaymentInstrumentType="Card",
                CardData=c.CardData(
                    MaskedPan=mask_pan(txn.card), PaymentBrand=terminal.card_name, EntryMode=["ICC"]
                ),
            ),
            PaymentAcquirerData=c.PaymentAcquirerData(
                AcquirerPOIID=request.MessageHeader.POIID,
                MerchantID="PAYCHANNELS-SIM",
                ApprovalCode=f"{txn.trace:06d}",
            ),
            OnlineFlag=True,
        )
    return SaleToPOIResponse(
        MessageHeader=header,
        PaymentResponse=b.PaymentResponse(
            Response=response,
            SaleData=payment.SaleData,
            POIData=poi,
            PaymentResult=result,
            PaymentReceipt=receipts,
        ),
    )


def event(
    poiid: str,
    details: str,
    now: datetime,
    *,
    request: MessageHeader | None = None,
    rejected: bytes = b"",
) -> SaleToPOIRequest:
    """An event notification instead of an answer (``Reject``: the request was not handled);
    it repeats the rejected request's SaleID and ServiceID when there was one."""
    return SaleToPOIRequest(
        MessageHeader=MessageHeader(
            ProtocolVersion=PROTOCOL_VERSION,
            MessageClass="Event",
            MessageCategory="Event",
            MessageType="Notification",
            POIID=poiid,
            SaleID=request.SaleID if request is not None else None,
            ServiceID=request.ServiceID if request is not None else None,
        ),
        EventNotification=b.EventNotification(
            EventToNotify="Reject",
            TimeStamp=stamp(now),
            EventDetails=urlencode({"message": details}),
            RejectedMessage=base64.b64encode(rejected[:4096]).decode("ascii") if rejected else None,
        ),
    )
