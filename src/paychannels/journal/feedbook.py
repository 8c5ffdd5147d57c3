"""What the departments' feeds carried, as the journal records it (tables ``pc_feeds`` and
``pc_feed_lines``, schema version 3).

A *candidate* is a money movement no feed has carried yet: a payment's charge (``paid``),
its reversal (``reversal``) or one of its refunds (``refund``), with the time the journal
recorded it. A feed picks the candidates that are its own (the caller's ``Pick``) and the
journal records them as *entries* in the same transaction that records the feed, so a
movement is in one feed only — the primary key (record, line) holds it across processes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, NamedTuple

from paychannels.values.errors import JournalError, PaychannelsError

__all__ = [
    "FeedAlreadyWritten",
    "FeedCandidate",
    "FeedEntry",
    "FeedError",
    "FeedHeader",
    "FeedNotRecorded",
    "FeedOutOfOrder",
    "LineKind",
    "Pick",
]

LineKind = Literal["paid", "reversal", "refund"]


class FeedCandidate(NamedTuple):
    """A money movement not yet fed, with what its payment's request says it pays.

    ``amount_minor`` is positive (what moved); ``insurance``, ``period``, ``grade`` are the
    payment's request fields (``metadata.insurance_type``, ``period``, ``metadata.grade``;
    None when absent), also for a refund (the refund names its payment); ``corrects`` is
    the feed that carried the payment's paid line, or None while none has.
    """

    record_id: str
    line: str
    payment_id: str
    at: datetime
    payer_id: str
    currency: str
    amount_minor: int
    channel: str
    channel_ref: str | None
    reference: str
    insurance: str | None
    period: str | None
    grade: str | None
    corrects: str | None


class FeedEntry(NamedTuple):
    """One line of a feed as recorded: signed amount (corrections negative), all text."""

    record_id: str
    line: str
    payment_id: str
    at: datetime
    payer_id: str
    period: str
    grade: str
    amount_minor: int
    currency: str
    channel: str
    settlement_ref: str | None
    corrects: str | None


@dataclass(frozen=True, slots=True)
class FeedHeader:
    """A recorded feed. ``checksum`` is None until its file has been written once."""

    feed_id: str
    insurance: str
    day: str
    cutoff: datetime
    made_at: datetime
    lines: int
    total_minor: int
    currency: str
    file_format: str | None = None
    checksum: str | None = None
    written_at: datetime | None = None
    #: whether this call recorded it (False: it was already recorded)
    created: bool = False


#: given the candidates (in time order), the entries that belong to the feed being recorded
Pick = Callable[[Iterable[FeedCandidate]], list[FeedEntry]]


class FeedError(PaychannelsError):
    """A feed that cannot be made as asked; the message says which feed and why."""


class FeedAlreadyWritten(FeedError):
    """The day's feed of this insurance type was made and written before: nothing is fed
    twice (ask for the identical file again explicitly)."""


class FeedOutOfOrder(FeedError, JournalError):
    """A feed asked for a day before one already recorded for the same insurance type."""


class FeedNotRecorded(FeedError, JournalError):
    """No feed of that id is recorded in the journal."""
