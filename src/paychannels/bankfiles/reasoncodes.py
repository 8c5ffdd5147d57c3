"""One table of banks' reason codes: ISO 20022, NACHA R-codes and Chinese banks' result texts.

Each code maps to one of our ``Reason``s and is marked ``retryable`` (a later resubmission
may succeed: insufficient funds, a bad date) or final (never retry: account closed, no
mandate, payer deceased), and whether the payer should be told. The table is data
(``data/reason_codes.csv``). Chinese texts match by containment, in table order, because
banks wrap them in sentences ("扣款失败：账户余额不足"). A code we do not know is kept as it
came, mapped to ``UNMAPPED`` and marked for a person's attention.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from paychannels.values.reasons import Reason

__all__ = ["ReasonCode", "describe", "lookup", "table"]


@dataclass(frozen=True, slots=True)
class ReasonCode:
    """One bank reason: its scheme and code, our reason, and what to do about it."""

    scheme: str
    code: str
    reason: Reason
    retryable: bool
    notify_payer: bool
    description: str
    known: bool = True


@cache
def table() -> tuple[ReasonCode, ...]:
    """The whole table, in file order."""
    text = files("paychannels.bankfiles").joinpath("data/reason_codes.csv").read_text("utf-8")
    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        rows.append(
            ReasonCode(
                scheme=row["scheme"],
                code=row["code"],
                reason=Reason(row["reason"]),
                retryable=row["class"] == "retryable",
                notify_payer=row["notify"] == "yes",
                description=row["description"],
            )
        )
    return tuple(rows)


@cache
def _by_code() -> dict[str, ReasonCode]:
    return {rc.code: rc for rc in table() if rc.scheme != "cn"}


def lookup(code: str | None, text: str | None = None) -> ReasonCode:
    """The entry for a bank's code (or, failing that, its text); unknown ones stay as given."""
    wanted = (code or "").strip().upper()
    found = _by_code().get(wanted)
    if found is not None:
        return found
    for haystack in (code, text):
        if haystack:
            for rc in table():
                if rc.scheme == "cn" and rc.code in haystack:
                    return rc
    shown = (code or text or "").strip()[:35] or "(none)"
    return ReasonCode(
        "unknown", shown, Reason.UNMAPPED, False, False, "code not in the table", known=False
    )


def describe(rc: ReasonCode, info: str | None = None) -> str:
    """The ``reason_detail`` text: code first (so it can be looked up again), then meaning."""
    what = "retryable" if rc.retryable else "final"
    tell = "; tell the payer" if rc.notify_payer else ""
    extra = f" — {info.strip()[:200]}" if info and info.strip() else ""
    return f"{rc.code}: {rc.description} ({what}{tell}){extra}"


def code_of(detail: str | None) -> str | None:
    """The bank code at the start of a ``describe`` text."""
    if not detail or ":" not in detail:
        return None
    return detail.split(":", 1)[0].strip() or None
