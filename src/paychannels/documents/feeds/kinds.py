"""Which insurance a payment pays, and the two offices that receive the feeds.

The roster (docs/roster.md) writes the insurance type and grade into the request's
``metadata`` (``insurance_type``, ``grade``) and makes the reference ``<period>:<type>``;
a payment made without the roster may carry only the reference. So the type is the
metadata's, else the reference's part after its last ``:``; the period is the request's,
else the reference's part before it. A payment of neither type is in no feed.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from paychannels.journal.feedbook import FeedError

__all__ = ["INSURANCES", "Insurance", "Obligation", "insurance", "obligation_of"]


@dataclass(frozen=True, slots=True)
class Insurance:
    """An insurance type: its short code (file names, ``--type``), its name, its office."""

    code: str
    name: str
    office: str
    office_en: str


INSURANCES: tuple[Insurance, ...] = (
    Insurance("pension", "城乡居民基本养老保险", "社会保险经办机构", "social-security office"),
    Insurance("medical", "城乡居民基本医疗保险", "医疗保障局", "medical-insurance office"),
)
_BY_TEXT = {key: i for i in INSURANCES for key in (i.code, i.name)}


def insurance(text: str) -> Insurance:
    """The insurance type a code or Chinese name names; ``FeedError`` naming the known ones."""
    found = _BY_TEXT.get(_fold(text))
    if found is None:
        known = ", ".join(f"{i.code} ({i.name})" for i in INSURANCES)
        raise FeedError(f"unknown insurance type {text[:40]!r}; expected one of {known}")
    return found


@dataclass(frozen=True, slots=True)
class Obligation:
    """What a payment paid: insurance type (name as written), period, grade."""

    insurance: str
    period: str
    grade: str


def obligation_of(
    reference: str, insurance: str | None, period: str | None, grade: str | None
) -> Obligation:
    """What a journaled payment pays, from its reference and request fields (module doc)."""
    head, sep, tail = reference.rpartition(":")
    kind = insurance or (tail if sep else "")
    return Obligation(_fold(kind), period or (head if sep else reference), grade or "")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()
