"""The departments' feeds: each day's paid obligations per insurance type, for the office
that keeps that insurance (docs/feeds.md).

``make_feed(journal, "pension", day, folder, now=...)`` records in the journal what the feed
carries — every payment, reversal and refund once, in the first feed made after it — and
writes the file (CSV in UTF-8 or GBK, or JSON Lines) with a totals line and a SHA-256
checksum line. ``make_feeds`` makes every type's feed of a day.
"""

from __future__ import annotations

from paychannels.documents.feeds.kinds import INSURANCES, Insurance, insurance, obligation_of
from paychannels.documents.feeds.make import (
    COUNTY_ZONE,
    FeedResult,
    feed_day,
    make_feed,
    make_feeds,
    zone_of,
)
from paychannels.documents.feeds.render import COLUMNS, ENCODINGS, FORMATS, FeedFormat, render_feed
from paychannels.journal.feedbook import (
    FeedAlreadyWritten,
    FeedError,
    FeedHeader,
    FeedOutOfOrder,
)

__all__ = [
    "COLUMNS",
    "COUNTY_ZONE",
    "ENCODINGS",
    "FORMATS",
    "INSURANCES",
    "FeedAlreadyWritten",
    "FeedError",
    "FeedFormat",
    "FeedHeader",
    "FeedOutOfOrder",
    "FeedResult",
    "Insurance",
    "feed_day",
    "insurance",
    "make_feed",
    "make_feeds",
    "obligation_of",
    "render_feed",
    "zone_of",
]
