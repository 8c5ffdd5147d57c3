"""Our reason codes: why a payment was declined, failed or needs a person.

Every channel maps its own codes (ZVT result codes, WeChat error codes, ISO 20022 and
NACHA return reasons, Chinese banks' result texts) to one of these, and keeps the original
in ``Outcome.reason_detail`` so nothing is lost in translation.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Reason"]


class Reason(StrEnum):
    """Why a payment ended without money, or why a person must look."""

    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    CARD_DECLINED = "CARD_DECLINED"
    CARD_EXPIRED = "CARD_EXPIRED"
    PIN_INVALID = "PIN_INVALID"
    PIN_TIMEOUT = "PIN_TIMEOUT"
    CARDHOLDER_ABORT = "CARDHOLDER_ABORT"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
    SUSPECTED_FRAUD = "SUSPECTED_FRAUD"
    ACCOUNT_CLOSED = "ACCOUNT_CLOSED"
    ACCOUNT_BLOCKED = "ACCOUNT_BLOCKED"
    INVALID_ACCOUNT = "INVALID_ACCOUNT"
    NAME_MISMATCH = "NAME_MISMATCH"
    NO_MANDATE = "NO_MANDATE"
    DEBTOR_DECEASED = "DEBTOR_DECEASED"
    REFUSED_BY_DEBTOR = "REFUSED_BY_DEBTOR"
    TRANSACTION_FORBIDDEN = "TRANSACTION_FORBIDDEN"
    ORDER_CLOSED = "ORDER_CLOSED"
    ORDER_EXPIRED = "ORDER_EXPIRED"
    DUPLICATE = "DUPLICATE"
    #: the payment code (付款码) expired or is not valid: the payer refreshes it and shows it again
    CODE_EXPIRED = "CODE_EXPIRED"
    #: the payment code was already used for another payment: the payer shows a new one
    CODE_USED = "CODE_USED"
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
    MERCHANT_MISMATCH = "MERCHANT_MISMATCH"
    INVALID_DATE = "INVALID_DATE"
    FILE_REJECTED = "FILE_REJECTED"
    TERMINAL_BUSY = "TERMINAL_BUSY"
    TERMINAL_ERROR = "TERMINAL_ERROR"
    TECHNICAL_ERROR = "TECHNICAL_ERROR"
    TIMEOUT = "TIMEOUT"
    NO_ANSWER = "NO_ANSWER"
    LATE_CONTRADICTION = "LATE_CONTRADICTION"
    RECOVERY_DEADLINE = "RECOVERY_DEADLINE"
    OTHER = "OTHER"
    UNMAPPED = "UNMAPPED"
