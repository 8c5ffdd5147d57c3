"""Values as people read them in a command's text output: never a Python repr.

``{'SUCCEEDED': 1}`` becomes ``1 SUCCEEDED``, ``{}`` and ``[]`` become ``none``, ``None`` a dash;
a summary dict becomes ``key value, key value`` with thousands separators. ``--json`` keeps the
values themselves; this is for the text beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["clipped", "counts", "more_line", "readable", "summary_line"]


def clipped(text: str, width: int) -> str:
    """``text`` cut to ``width`` at a space, ending in `` …`` when cut: never half a word."""
    if len(text) <= width:
        return text
    cut = text[: width - 2]
    space = cut.rstrip().rfind(" ")
    if space > width // 2:
        cut = cut[:space]
    return cut.rstrip() + " …"


def counts(found: Mapping[str, int]) -> str:
    """``{'SUCCEEDED': 3, 'UNKNOWN': 1}`` as ``3 SUCCEEDED, 1 UNKNOWN`` (``none`` when empty)."""
    return ", ".join(f"{n:,} {what}" for what, n in found.items()) or "none"


def readable(value: Any) -> str:
    """One value for a line of text: numbers with separators, collections spelled out."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, Mapping):
        if value and all(isinstance(v, int) and not isinstance(v, bool) for v in value.values()):
            return counts(value)
        return "; ".join(f"{k}: {readable(v)}" for k, v in value.items()) or "none"
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(readable(v) for v in value) or "none"
    return str(value)


def summary_line(summary: Mapping[str, Any]) -> str:
    """A command's summary dict as one line: ``examined 12, resubmitted 0, errors none``."""
    return ", ".join(f"{k.replace('_', ' ')} {readable(v)}" for k, v in summary.items())


def more_line(rest: int, *, see: str = "", how: str = "") -> str:
    """The last line of a list that shows only part: ``… and 63 more, see unpaid.csv`` (the
    file ``see`` holds the rest) or ``… and 350 more (--all to see them)``; empty when
    nothing was left out."""
    if rest <= 0:
        return ""
    return f"… and {rest:,} more" + (f", see {see}" if see else "") + (f" ({how})" if how else "")
