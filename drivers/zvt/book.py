"""The ZVT terminal book: in-doubt attempts identified by receipt numbers.

The book itself (markers, recent results, answers learned by asking again) is the shared
``paychannels.drivers.book`` under the ``zvt.`` keys. What is ZVT's own is how an attempt
is recognised: a terminal books one transaction at a time and assigns receipt numbers in
sequence, the config byte forbids payments started at its keypad, and the per-terminal lock
keeps our own processes apart, so the attempt, if the terminal booked it, is the
transaction with receipt ``before + 1``. Recovery asks for the last status information
again (``06 20``) and compares: receipt ``before`` -> nothing was booked; ``before + 1``
with our amount -> ours, its result code decides; anything else -> ambiguous (a person
looks). See docs/channels/zvt.md.
"""

from __future__ import annotations

from typing import Literal

from paychannels.channels.base import ChannelContext
from paychannels.drivers import book as shared
from paychannels.drivers.book import Attempt, BookState, Result, Verdict
from paychannels.drivers.zvt.replies import StatusInformation

__all__ = [
    "Attempt",
    "Book",
    "BookState",
    "Kind",
    "Result",
    "Verdict",
    "identify",
    "next_receipt",
]

Kind = Literal["payment", "refund", "reversal", "end_of_day"]


class Book(shared.Book):
    """The book of a ZVT terminal (``zvt.terminal``, ``zvt.answer.*``)."""

    def __init__(self, ctx: ChannelContext) -> None:
        super().__init__(ctx, prefix="zvt")


def next_receipt(receipt: int) -> int:
    """The receipt number after ``receipt`` (four BCD digits, 0001..9999, wrapping)."""
    return receipt % 9999 + 1


def identify(attempt: Attempt, info: StatusInformation | None, *, detail: str = "") -> Result:
    """Decide an attempt from the terminal's last status information (None: it has none)."""
    last = 0 if info is None else info.receipt
    before = attempt.before
    if before is None:
        return Result("ambiguous", detail="the terminal's last receipt was unknown before sending")
    if last is None:
        return Result("ambiguous", detail="the terminal's last status information has no receipt")
    if last == before:
        return Result("not_booked", receipt=last, detail=f"terminal's last receipt is still {last}")
    if info is None:
        return Result(
            "ambiguous", detail=f"the terminal has no transaction, we knew receipt {before}"
        )
    amount = info.amount
    if last == next_receipt(before) and (attempt.amount is None or amount == attempt.amount):
        return Result(
            "booked",
            result_code=info.result_code or 0,
            receipt=last,
            trace=info.trace,
            terminal_id=info.terminal_id,
            amount=amount,
            detail=detail,
        )
    return Result(
        "ambiguous",
        receipt=last,
        amount=amount,
        detail=(
            f"expected receipt {before} (nothing booked) or {next_receipt(before)} for "
            f"{attempt.amount}, the terminal's last is {last} for {amount}"
        ),
    )
