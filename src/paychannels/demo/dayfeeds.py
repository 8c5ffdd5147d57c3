"""The demo's feeds: at the end of its day, each insurance type's feed for its office."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from paychannels.documents.feeds import make_feeds
from paychannels.journal import Journal
from paychannels.runtime.clock import utcnow

__all__ = ["write_day_feeds"]


def write_day_feeds(journal: Journal, day: date, folder: Path) -> dict[str, Any]:
    """Make the day's feeds (CSV, UTF-8) in ``folder``; what each carried, for the summary."""
    made = make_feeds(journal, day, folder, now=utcnow())
    return {
        r.header.feed_id: {
            "insurance": r.header.insurance,
            "lines": r.header.lines,
            "total_minor": r.header.total_minor,
            "path": str(r.path),
            "sha256": r.checksum,
        }
        for r in made
    }
