"""nexo JSON on the wire: exact decimals both ways, duplicate keys refused, sizes bounded.

Amounts travel as JSON numbers in major units (``"RequestedAmount": 380.00``). Reading
them as binary floats would lose cents, so numbers with a fraction are read as ``Decimal``
and written back digit for digit; a float never enters or leaves. Two values for one key,
``NaN``/``Infinity``, nesting past the interpreter's recursion limit and oversized bodies are
refused as ``NexoFormatError``.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from paychannels.drivers.nexo.errors import NexoFormatError

__all__ = ["MAX_BODY", "decode", "encode"]

MAX_BODY = 1 << 20  # far above any genuine message (receipts included)
_text = json.encoder.encode_basestring  # JSON string literal, non-ASCII kept (C when available)


def _unique(items: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(items)
    if len(out) != len(items):
        names = [k for k, _ in items]
        twice = next(k for k in names if names.count(k) > 1)
        raise ValueError(f"duplicate key {twice[:40]!r}")
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


_DECODER = json.JSONDecoder(
    object_pairs_hook=_unique, parse_float=Decimal, parse_constant=_no_constant
)


def decode(raw: bytes | str, *, where: str = "body") -> dict[str, Any]:
    """One JSON object, numbers with a fraction as ``Decimal``."""
    if len(raw) > MAX_BODY:
        raise NexoFormatError(f"is {len(raw)} bytes, more than {MAX_BODY}", where=where)
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        value = _DECODER.decode(text)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise NexoFormatError(f"is not valid JSON ({str(exc)[:80]})", where=where) from None
    if not isinstance(value, dict):
        raise NexoFormatError("is JSON but not an object", where=where)
    return value


def encode(value: Any) -> bytes:
    """UTF-8 JSON for dicts, lists, text, ints, bools, None and ``Decimal`` (written exactly)."""
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts).encode("utf-8")


def _write(value: Any, out: list[str]) -> None:
    if isinstance(value, dict):
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            if i:
                out.append(",")
            out.append(_text(str(key)))
            out.append(":")
            _write(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out)
        out.append("]")
    elif isinstance(value, bool) or value is None:
        out.append("true" if value is True else "false" if value is False else "null")
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a JSON number")
        out.append(format(value, "f"))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, str):
        out.append(_text(value))
    else:
        raise TypeError(f"cannot write {type(value).__name__} as nexo JSON (floats are refused)")
