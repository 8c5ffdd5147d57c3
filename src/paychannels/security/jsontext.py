"""JSON as providers sign it: strict parsing, and the exact text of one member's value.

Signatures cover bytes, not parsed values, so a verifier must find what was signed in the
raw text. ``member_span`` scans a JSON object the way the grammar says (strings with
escapes, nesting), which brace counting cannot: a ``}`` inside a string value would fool it.
Duplicate keys are refused everywhere: two values for one field is an attack or a bug.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from paychannels.security.verification import MalformedCallback

__all__ = ["member_span", "plain_object", "strict_object"]

_WS = b" \t\r\n"
Scanner = Callable[[str, int], tuple[Any, int]]


def _pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(items)
    if len(out) != len(items):  # rare: name the key that came twice
        names = [k for k, _ in items]
        twice = next(k for k in names if names.count(k) > 1)
        raise ValueError(f"duplicate key {twice[:40]!r}")
    return out


def strict_object(raw: bytes | str, *, where: str) -> dict[str, Any]:
    """Parse UTF-8 JSON that must be one object without duplicate keys."""
    return _object(raw, _DECODER, _STRICT_SCAN, where)


def plain_object(raw: bytes | str, *, where: str) -> dict[str, Any]:
    """Parse UTF-8 JSON that must be one object, duplicate keys unchecked: only for text
    whose author is already proven (an AEAD-authenticated plaintext)."""
    return _object(raw, _PLAIN, _PLAIN_SCAN, where)


def _object(
    raw: bytes | str, decoder: json.JSONDecoder, scan: Scanner, where: str
) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        # the C scanner straight away (what decode() runs after two regex calls); anything
        # unusual — leading blanks, text after the value — goes through decode() for its error
        value, end = scan(text, 0)
        if end != len(text):
            value = decoder.decode(text)
    except StopIteration:
        value = _decoded(text, decoder, where)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise MalformedCallback(f"is not valid JSON ({str(exc)[:80]})", where=where) from None
    if not isinstance(value, dict):
        raise MalformedCallback("is JSON but not an object", where=where)
    return value


def _decoded(text: str, decoder: json.JSONDecoder, where: str) -> Any:
    try:
        return decoder.decode(text)
    except (ValueError, RecursionError) as exc:
        raise MalformedCallback(f"is not valid JSON ({str(exc)[:80]})", where=where) from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# one decoder for every call: json.loads(..., hooks) would build a new one each time
_DECODER = json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_no_constant)
_PLAIN = json.JSONDecoder(parse_constant=_no_constant)


def _scanner(decoder: json.JSONDecoder) -> Scanner:
    """The decoder's own C scanner (set by its ``__init__``, absent from the type stubs)."""
    scan: Scanner = decoder.scan_once  # type: ignore[attr-defined]
    return scan


_STRICT_SCAN = _scanner(_DECODER)
_PLAIN_SCAN = _scanner(_PLAIN)


def member_span(raw: bytes, key: str, *, where: str) -> tuple[int, int] | None:
    """Start and end offsets of the value of top-level member ``key`` in ``raw``, or None.

    ``raw`` must be a JSON object; the key is compared after decoding its escapes.
    """
    pos = _skip(raw, 0)
    if pos >= len(raw) or raw[pos] != ord("{"):
        raise MalformedCallback("is not a JSON object", where=where)
    pos = _skip(raw, pos + 1)
    if pos < len(raw) and raw[pos] == ord("}"):
        return None
    found: tuple[int, int] | None = None
    while True:
        start = pos
        pos = _string_end(raw, pos, where)
        try:
            name = json.loads(raw[start:pos])
        except ValueError:
            raise MalformedCallback("has a bad member name", where=where) from None
        pos = _skip(raw, pos)
        if pos >= len(raw) or raw[pos] != ord(":"):
            raise MalformedCallback("lacks a ':' after a member name", where=where)
        value_start = _skip(raw, pos + 1)
        value_end = _value_end(raw, value_start, where)
        if name == key:
            if found is not None:
                raise MalformedCallback(f"has {key!r} twice", where=where)
            found = (value_start, value_end)
        pos = _skip(raw, value_end)
        if pos < len(raw) and raw[pos] == ord(","):
            pos = _skip(raw, pos + 1)
            continue
        if pos < len(raw) and raw[pos] == ord("}"):
            if _skip(raw, pos + 1) != len(raw):
                raise MalformedCallback("has text after the object", where=where)
            return found
        raise MalformedCallback("is not a well-formed JSON object", where=where)


def _skip(raw: bytes, pos: int) -> int:
    while pos < len(raw) and raw[pos] in _WS:
        pos += 1
    return pos


def _string_end(raw: bytes, pos: int, where: str) -> int:
    if pos >= len(raw) or raw[pos] != ord('"'):
        raise MalformedCallback("has a member name that is not a string", where=where)
    pos += 1
    while pos < len(raw):
        c = raw[pos]
        if c == ord("\\"):
            pos += 2
            continue
        if c == ord('"'):
            return pos + 1
        pos += 1
    raise MalformedCallback("has an unterminated string", where=where)


def _value_end(raw: bytes, pos: int, where: str) -> int:
    if pos >= len(raw):
        raise MalformedCallback("ends where a value should be", where=where)
    c = raw[pos]
    if c == ord('"'):
        return _string_end(raw, pos, where)
    if c in (ord("{"), ord("[")):
        depth = 0
        while pos < len(raw):
            c = raw[pos]
            if c == ord('"'):
                pos = _string_end(raw, pos, where)
                continue
            if c in (ord("{"), ord("[")):
                depth += 1
            elif c in (ord("}"), ord("]")):
                depth -= 1
                if depth == 0:
                    return pos + 1
            pos += 1
        raise MalformedCallback("has an unclosed object or array", where=where)
    end = pos
    while end < len(raw) and raw[end] not in b",}] \t\r\n":
        end += 1
    if end == pos:
        raise MalformedCallback("has an empty value", where=where)
    return end
