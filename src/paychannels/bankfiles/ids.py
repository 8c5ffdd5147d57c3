"""Deterministic identifiers in request files, all at most 35 characters.

The end-to-end id of a debit is its payment id without the ``pay_`` prefix plus the dispatch
attempt (``01JD3M8Q2W5X7Y9Z0ABCDEFGHJ-1``, 28 characters), so a result row leads back to the
payment without a lookup table, and a payment sent again gets a new id. A message id is the
creditor's prefix, the date and a per-channel file number; batch ids append their index.
"""

from __future__ import annotations

import re
from datetime import date

__all__ = ["batch_id", "end_to_end_id", "message_id", "payment_of"]

_E2E = re.compile(r"^([0-9A-HJKMNP-TV-Z]{26})-([0-9]{1,8})$")
_PREFIX = re.compile(r"^[A-Za-z0-9]{1,12}$")


def end_to_end_id(payment_id: str, attempt: int) -> str:
    """``pay_<26 chars>`` and attempt ``n`` -> ``<26 chars>-n``."""
    prefix, _, ulid = payment_id.partition("_")
    if prefix != "pay" or len(ulid) != 26 or not 0 <= attempt < 10**8:
        raise ValueError(f"{payment_id!r} / attempt {attempt} cannot make an end-to-end id")
    return f"{ulid}-{attempt}"


def payment_of(end_to_end: str) -> tuple[str, int] | None:
    """The payment id and attempt an end-to-end id of ours stands for, or None."""
    match = _E2E.match(end_to_end.strip())
    if match is None:
        return None
    return f"pay_{match.group(1)}", int(match.group(2))


def message_id(prefix: str, when: date, number: int) -> str:
    """``PC20260105000042``: prefix, date, file number (at most 31 characters)."""
    if not _PREFIX.match(prefix):
        raise ValueError(f"message id prefix {prefix!r} must be 1-12 letters or digits")
    if not 0 < number < 10**10:
        raise ValueError(f"file number {number} out of range")
    return f"{prefix}{when:%Y%m%d}{number:06d}"


def batch_id(msg_id: str, index: int) -> str:
    """The id of the ``index``-th (1-based) batch of a message."""
    return f"{msg_id}-{index:03d}"
