"""``AdditionalResponse`` and receipt text: the key=value strings nexo terminals send.

``AdditionalResponse`` is URL-encoded ``key=value&...`` (Adyen: ``refusalReason``,
``pspReference``, ``message``...) or, when so configured, base64 JSON. Receipt lines come as
plain text or, from Adyen terminals, as ``name=Card&value=...&key=pan``. Both are read here
into plain values; what cannot be read is kept as it came, never an exception.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from urllib.parse import parse_qsl

from paychannels.drivers.nexo.common import PaymentReceipt

__all__ = ["additional", "receipt_lines", "text_line"]

_MAX_PAIRS = 200
_BASE64 = re.compile(r"^[A-Za-z0-9+/]{16,}={0,2}$")


def additional(text: str | None) -> dict[str, str]:
    """The pairs of an ``AdditionalResponse`` (empty when absent or unreadable)."""
    if not text:
        return {}
    if _BASE64.match(text.strip()):
        found = _base64_json(text)
        if found is not None:
            return found
    if "=" not in text:
        return {"message": text[:200]}
    pairs = parse_qsl(text.replace("\n", "").replace(" ", "%20"), keep_blank_values=True)
    return dict(pairs[:_MAX_PAIRS])


def _base64_json(text: str) -> dict[str, str] | None:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
        value = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        return None
    data = value.get("additionalData", value) if isinstance(value, dict) else None
    if not isinstance(data, dict):
        return None
    return {str(k): str(v) for k, v in list(data.items())[:_MAX_PAIRS]}


def text_line(text: str) -> str:
    """One receipt line as a person reads it (``Card: ****1111``; ``key=filler`` is blank)."""
    if "key=" not in text and "name=" not in text:
        return text
    pairs = dict(parse_qsl(text, keep_blank_values=True))
    name, value = pairs.get("name", ""), pairs.get("value", "")
    if name and value:
        return f"{name}: {value}"
    return name or value


def receipt_lines(
    receipts: list[PaymentReceipt] | None, *, prefer: str = "CustomerReceipt"
) -> list[str]:
    """The lines of one receipt (the customer's if there is one, else the first)."""
    if not receipts:
        return []
    chosen = next((r for r in receipts if r.DocumentQualifier == prefer), receipts[0])
    lines: list[str] = []
    current = ""
    for part in chosen.OutputContent.OutputText or []:
        current += text_line(part.Text or "")
        if part.EndOfLineFlag is not False:
            lines.append(current)
            current = ""
    if current:
        lines.append(current)
    return lines
