"""One obligation's category: what was owed against what its payments and refunds hold.

A payment holds what it took (``amount_taken``, else its amount) less its refunds that
succeeded; a reversed one holds nothing. The first category that applies wins (see
``Category``); attention flags on settled records do not change the category, they are
returned as flags for the list of things a person must look at.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

from paychannels.reconcile.model import Category
from paychannels.reconcile.taken import IN_DOUBT, Attempt, Taken
from paychannels.values.money import Money

__all__ = ["Verdict", "classify", "yuan"]

Verdict = tuple[Category, int, str, tuple[str, ...]]
"""category, received (minor units), why (empty when plain), attention flags"""

_NONE: tuple[str, ...] = ()


@lru_cache(maxsize=65536)
def yuan(minor: int, currency: str) -> str:
    """Minor units as the currency's decimal text (``38000`` CNY -> ``380.00``); amounts
    repeat (a county has a dozen grades), so the texts are remembered."""
    return Money.of_minor(minor, currency).to_decimal_string()


def classify(owed: int, currency: str, attempts: Sequence[Attempt] | None, taken: Taken) -> Verdict:
    """The category of one obligation owing ``owed`` (minor units of ``currency``)."""
    if not attempts:
        return Category.UNPAID, 0, "", _NONE
    if len(attempts) == 1:
        a = attempts[0]
        if (
            a.status == "SUCCEEDED"
            and a.attention is None
            and a.amount == owed
            and a.currency == currency
            and (a.taken is None or a.taken == owed)
            and a.id not in taken.refunds
        ):
            return Category.PAID, owed, "", _NONE  # the common case, quickly
    return _general(owed, currency, attempts, taken)


def _settled(
    owed: int,
    currency: str,
    received: int,
    holding: list[tuple[Attempt, int]],
    fmt: Callable[[int], str],
) -> tuple[Category, str] | None:
    """The category when money is held (None: nothing is): too much, too little, exactly."""
    if not holding:
        return None
    wrong = [a for a, _got in holding if a.currency != currency]
    single = holding[0][0] if len(holding) == 1 else None
    if wrong or (single is not None and single.amount != owed and received != owed):
        a = wrong[0] if wrong else holding[0][0]
        return Category.AMOUNT_MISMATCH, (
            f"charged {yuan(a.amount, a.currency)} {a.currency} through {a.channel} ({a.id}), "
            f"{fmt(owed)} {currency} owed"
        )
    parts = " and ".join(f"{fmt(got)} through {a.channel} ({a.id})" for a, got in holding)
    if received > owed:
        back = fmt(received - owed)
        if single is None:
            return Category.PAID_TWICE, f"paid {parts}; {back} to give back"
        return Category.OVERPAID, f"received {fmt(received)}, {fmt(owed)} owed: {back} to give back"
    if received < owed:
        return (
            Category.PARTLY_PAID,
            f"received {fmt(received)} of {fmt(owed)} ({parts}): {fmt(owed - received)} still owed",
        )
    return Category.PAID, "" if single is not None else f"paid in parts: {parts}"


def _general(owed: int, currency: str, attempts: Sequence[Attempt], taken: Taken) -> Verdict:
    doubt: list[str] = []
    flags: list[str] = []
    holding: list[tuple[Attempt, int]] = []
    received = 0
    for a in attempts:
        if a.status in IN_DOUBT:
            why = f" ({a.reason})" if a.reason else ""
            doubt.append(f"{a.id} on {a.channel} is {a.status}{why}")
        if a.attention:
            flags.append(f"{a.id} on {a.channel}: {a.attention}")
        for r in taken.refunds.get(a.id, ()):
            if r.status in IN_DOUBT:
                doubt.append(f"refund {r.id} of {a.id} is {r.status}")
            if r.attention:
                flags.append(f"refund {r.id}: {r.attention}")
        if a.status == "SUCCEEDED":
            got = (a.amount if a.taken is None else a.taken) - taken.refunded(a.id)
            received += got
            if got > 0:
                holding.append((a, got))

    def fmt(minor: int) -> str:
        return yuan(minor, currency)

    if doubt:
        return Category.IN_DOUBT, received, "; ".join(doubt), tuple(flags)
    verdict = _settled(owed, currency, received, holding, fmt)
    if verdict is not None:
        return verdict[0], received, verdict[1], tuple(flags)
    last = attempts[-1]
    tried = f"last attempt {last.id} on {last.channel}: {last.status}"
    return Category.UNPAID, 0, tried + (f" ({last.reason})" if last.reason else ""), tuple(flags)
