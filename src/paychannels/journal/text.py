"""Text the journal can store, whatever a device or provider put in it.

PostgreSQL refuses NUL in text, and neither database driver can encode a lone surrogate (what
``surrogateescape`` decoding leaves of bad bytes). A terminal's reason text holding either
made the write of its answer fail, leaving a payment DISPATCHED although the device had
answered. Every text the journal writes passes ``storable`` (in the write executor,
``sqlwrites``): NUL becomes the visible ``\\x00``, an unencodable character its ``\\udcff``
escape, so the answer is always recorded and nothing is silently dropped.
"""

from __future__ import annotations

from typing import Any

__all__ = ["storable", "storable_json"]


def storable(text: str) -> str:
    """``text`` as both databases store it, escaped visibly where it could not be."""
    if text.isascii() and "\x00" not in text:  # nearly every text: nothing to escape
        return text
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def storable_json(value: Any) -> Any:
    """``storable`` applied to every string (keys too) of a JSON value."""
    kind = type(value)
    if kind is int or kind is bool or value is None:  # the common leaves first: cheap tests
        return value
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {storable(str(k)): storable_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable_json(v) for v in value]
    return value
