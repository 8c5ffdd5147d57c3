"""What a nexo ``Response`` means: which failures ran nothing, and our reason for the rest.

``Result`` Failure with an ``ErrorCondition`` that says the request was turned away before
anything ran (Busy, DeviceOut, LoggedOut, MessageFormat, NotAllowed, UnavailableDevice,
UnavailableService, InProgress on a new request) is *not sent*: the same payment may be
sent again safely. Every other Failure is a refusal of the transaction, with our reason
taken from the condition and, for Refusal, from Adyen's ``refusalReason``. Conditions we do
not know map to ``UNMAPPED`` and keep their name in the detail.
"""

from __future__ import annotations

from dataclasses import dataclass

from paychannels.drivers.nexo.additional import additional
from paychannels.drivers.nexo.common import Response
from paychannels.values.reasons import Reason

__all__ = ["NOT_RUN", "Failure", "failure"]

R = Reason

#: conditions under which the terminal did not run the request at all
NOT_RUN = frozenset(
    {
        "Busy",
        "DeviceOut",
        "InProgress",
        "LoggedOut",
        "MessageFormat",
        "NotAllowed",
        "UnavailableDevice",
        "UnavailableService",
    }
)

_CONDITIONS: dict[str, Reason] = {
    "Aborted": R.ORDER_CLOSED,
    "Cancel": R.CARDHOLDER_ABORT,
    "InvalidCard": R.CARD_DECLINED,
    "InsertedCard": R.TERMINAL_ERROR,
    "PaymentRestriction": R.TRANSACTION_FORBIDDEN,
    "Refusal": R.CARD_DECLINED,
    "UnreachableHost": R.TECHNICAL_ERROR,
    "WrongPIN": R.PIN_INVALID,
    "NotFound": R.OTHER,
    **{name: R.TERMINAL_BUSY if name in ("Busy", "InProgress") else R.TERMINAL_ERROR
       for name in NOT_RUN},
}  # fmt: skip

# Adyen's refusalReason texts (lower case, as prefixes) -> our reason
_REFUSALS: tuple[tuple[str, Reason], ...] = (
    ("not enough balance", R.INSUFFICIENT_FUNDS),
    ("insufficient", R.INSUFFICIENT_FUNDS),
    ("expired card", R.CARD_EXPIRED),
    ("invalid pin", R.PIN_INVALID),
    ("incorrect pin", R.PIN_INVALID),
    ("pin tries exceeded", R.PIN_INVALID),
    ("pin validation not possible", R.PIN_INVALID),
    ("withdrawal amount exceeded", R.LIMIT_EXCEEDED),
    ("withdrawal count exceeded", R.LIMIT_EXCEEDED),
    ("fraud", R.SUSPECTED_FRAUD),
    ("blocked card", R.ACCOUNT_BLOCKED),
    ("restricted card", R.TRANSACTION_FORBIDDEN),
    ("transaction not permitted", R.TRANSACTION_FORBIDDEN),
    ("not supported", R.TRANSACTION_FORBIDDEN),
    ("issuer unavailable", R.TECHNICAL_ERROR),
    ("acquirer error", R.TECHNICAL_ERROR),
    ("shopper cancelled", R.CARDHOLDER_ABORT),
    ("cancelled", R.CARDHOLDER_ABORT),
)


@dataclass(frozen=True, slots=True)
class Failure:
    """A Failure result read: did anything run, our reason, and the terminal's own words."""

    ran: bool
    reason: Reason
    detail: str
    condition: str


def failure(response: Response) -> Failure:
    """Read a Failure (or a Partial/Success that is not ours to judge here)."""
    condition = response.ErrorCondition or "(none)"
    extra = additional(response.AdditionalResponse)
    said = extra.get("refusalReason") or extra.get("message") or ""
    reason = _CONDITIONS.get(condition, R.UNMAPPED)
    if condition == "Refusal" and said:
        lowered = said.lower()
        reason = next((r for text, r in _REFUSALS if lowered.startswith(text)), reason)
    detail = f"nexo {condition}" + (f": {said[:160]}" if said else "")
    return Failure(condition not in NOT_RUN, reason, detail, condition)
