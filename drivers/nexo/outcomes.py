"""From a terminal's response to an ``Outcome``: money taken, refused, or nothing ran.

Pure functions. Success and Partial take money (Partial: less than asked, ``amount_taken``
says how much); Failure is a refusal with our reason, or *not sent* when the terminal ran
nothing (see ``reasons``); an aborted payment is reported CANCELLED (the Collector closes it
without money). The terminal's transaction id (``POIData.POITransactionID``) becomes the
``channel_ref`` and is kept in ``channel_data`` with its time stamp, because a reversal or a
refund must name it. Card numbers are masked and receipt lines scrubbed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from pydantic import JsonValue

from paychannels.drivers.nexo.additional import additional, receipt_lines
from paychannels.drivers.nexo.bodies import PaymentResponse, ReversalResponse
from paychannels.drivers.nexo.common import PaymentReceipt, Response
from paychannels.drivers.nexo.errors import NexoFormatError
from paychannels.drivers.nexo.reasons import failure
from paychannels.security.masking import mask_pan, scrub
from paychannels.values.errors import MoneyError
from paychannels.values.models import Outcome
from paychannels.values.money import Money
from paychannels.values.status import Status

__all__ = ["payment_outcome", "reversal_outcome", "to_money"]

_REFERENCE = re.compile(r"^[A-Za-z0-9]{1,32}$")


def to_money(value: Decimal, currency: str, *, where: str) -> Money:
    """An amount in major units as ``Money``; more decimals than the currency has is an error."""
    try:
        return Money(value, currency)
    except MoneyError as exc:
        raise NexoFormatError(str(exc), where=where) from None


def _masked(pan: str) -> str:
    digits = sum(ch.isdigit() for ch in pan)
    return mask_pan(pan) if digits >= 13 and "*" not in pan else pan


@dataclass(frozen=True, slots=True)
class _Read:
    """What every transaction response shares: its result, the terminal's id, the receipt."""

    response: Response
    ref: str | None
    data: dict[str, JsonValue]
    receipts: list[PaymentReceipt] | None

    @property
    def lines(self) -> tuple[str, ...]:
        return tuple(scrub(line) for line in receipt_lines(self.receipts))


def _read(body: PaymentResponse | ReversalResponse, service_id: str) -> _Read:
    r = body.Response
    poi = body.POIData
    data: dict[str, JsonValue] = {"service_id": service_id, "result": r.Result}
    if poi is not None:
        data["poi_transaction"] = {
            "id": poi.POITransactionID.TransactionID,
            "timestamp": poi.POITransactionID.TimeStamp,
        }
    extra = additional(r.AdditionalResponse)
    psp = extra.get("pspReference", "")
    if _REFERENCE.match(psp):  # a reference, not card data: kept as it is for reconciliation
        data["psp_reference"] = psp
    if extra.get("refusalReason"):
        data["refusal_reason"] = scrub(extra["refusalReason"][:128])
    ref = poi.POITransactionID.TransactionID if poi is not None else None
    return _Read(r, ref, data, body.PaymentReceipt)


def _refused(read: _Read) -> Outcome:
    f = failure(read.response)
    if not f.ran:
        return Outcome.not_sent(
            f"{f.detail}; the terminal ran nothing, sending again is safe", data=read.data
        )
    status = Status.CANCELLED if f.condition == "Aborted" else Status.DECLINED
    return Outcome(
        status=status,
        reason=f.reason,
        reason_detail=f.detail,
        channel_ref=read.ref,
        receipt=read.lines,
        data=read.data,
    )


def payment_outcome(response: PaymentResponse, *, currency: str, service_id: str) -> Outcome:
    """What a ``PaymentResponse`` means for the payment it answers."""
    read = _read(response, service_id)
    if read.response.Result == "Failure":
        return _refused(read)
    data = read.data
    result = response.PaymentResult
    taken: Money | None = None
    if result is not None and result.AmountsResp is not None:
        resp = result.AmountsResp
        if resp.Currency is not None and resp.Currency != currency:
            return Outcome.unknown(
                f"the terminal reports {resp.Currency} taken for a {currency} payment"
            )
        taken = to_money(resp.AuthorizedAmount, currency, where="AmountsResp.AuthorizedAmount")
    if result is not None:
        instrument = result.PaymentInstrumentData
        card = instrument.CardData if instrument is not None else None
        if card is not None and card.MaskedPan:
            data["card"] = _masked(card.MaskedPan)
        if card is not None and card.PaymentBrand:
            data["brand"] = card.PaymentBrand
        acquirer = result.PaymentAcquirerData
        if acquirer is not None and acquirer.ApprovalCode:
            data["approval_code"] = acquirer.ApprovalCode
    return Outcome.succeeded(
        amount_taken=taken, channel_ref=read.ref, receipt=read.lines, data=data
    )


def reversal_outcome(response: ReversalResponse, *, service_id: str, success: Status) -> Outcome:
    """What a ``ReversalResponse`` means: ``success`` (REVERSED for a void, SUCCEEDED for a
    refund), a refusal, or nothing ran."""
    read = _read(response, service_id)
    if read.response.Result == "Failure":
        return _refused(read)
    return Outcome(status=success, channel_ref=read.ref, receipt=read.lines, data=read.data)
