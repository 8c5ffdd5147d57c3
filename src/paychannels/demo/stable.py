"""What of a demo summary must be the same for the same seed: all but the clock and the place.

A day is decided by its seed (``--seed``): who pays where, how, which fault hits whom, and so
what is paid, unpaid and received. What the seed cannot decide is left out here and nowhere
else: elapsed and CPU times, where the workspace is, which worker process ran what, checksums of
files that carry the time they were written, the clock times in texts, and payment ids
(ULIDs: the time they were made).
Ids are renamed ``pay#1``, ``pay#2``… in the order they first appear, so which fault and
which note name the same payment is still compared.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["VOLATILE", "stable_view"]

#: summary keys the seed cannot decide (times, CPU, places — and which worker process ran
#: which channel: ``--workers`` decides that, and the day is the same for any number)
VOLATILE = frozenset({"timings", "reconcile_timings", "cpu", "workspace", "files", "workers"})
#: per feed: where it was written and its checksum (the file carries its time of making)
_FEED_VOLATILE = frozenset({"path", "sha256"})
_PAYMENT_ID = re.compile(r"\bpay_[0-9A-HJKMNP-TV-Z]{26}\b")
_CLOCK = re.compile(r"\b\d{2}:\d{2}:\d{2}\b")


def stable_view(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary without what the seed cannot decide (see the module docstring)."""
    kept = {k: v for k, v in summary.items() if k not in VOLATILE}
    if isinstance(kept.get("feeds"), dict):
        kept["feeds"] = {
            name: {k: v for k, v in feed.items() if k not in _FEED_VOLATILE}
            for name, feed in kept["feeds"].items()
        }
    names: dict[str, str] = {}
    return {k: _renamed(v, names) for k, v in kept.items()}


def _renamed(value: Any, names: dict[str, str]) -> Any:
    """Payment ids by order of appearance, clock times as ``hh:mm:ss``."""
    if isinstance(value, dict):
        return {k: _renamed(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, names) for v in value]
    if isinstance(value, str):
        text = _PAYMENT_ID.sub(lambda m: names.setdefault(m[0], f"pay#{len(names) + 1}"), value)
        return _CLOCK.sub("hh:mm:ss", text)
    return value
