"""Per-item HMAC webhooks (Adyen style): each notification item carries its own MAC.

The signed string is the item's ``pspReference:originalReference:merchantAccountCode:
merchantReference:value:currency:eventCode:success`` (a missing field is empty), the MAC is
base64 HMAC-SHA256 with a hex-encoded key, found in ``additionalData.hmacSignature``. A
batch is accepted only when every item verifies: one bad item refuses the whole delivery,
so nothing in it is believed. No timestamp is signed, so no window applies; duplicates are
the journal's business (idempotent notices).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence
from typing import Any

from paychannels.security.jsontext import strict_object
from paychannels.security.verification import MalformedCallback, VerificationError, equal

__all__ = ["ItemHmac", "signing_string"]

_FIELDS = (
    "pspReference",
    "originalReference",
    "merchantAccountCode",
    "merchantReference",
)


def signing_string(item: dict[str, Any]) -> str:
    """What an item's MAC covers."""
    raw = item.get("amount")
    amount: dict[str, Any] = raw if isinstance(raw, dict) else {}
    parts = [_text(item.get(name)) for name in _FIELDS]
    parts += [_text(amount.get("value")), _text(amount.get("currency"))]
    parts += [_text(item.get("eventCode")), _text(item.get("success"))]
    return ":".join(parts)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class ItemHmac:
    """Verifier (and signer, for simulators) of per-item HMAC notifications."""

    def __init__(self, hex_keys: Sequence[str]) -> None:
        if not hex_keys:
            raise ValueError("at least one HMAC key is needed")
        try:
            self._keys = [binascii.unhexlify(k) for k in hex_keys]
        except (binascii.Error, ValueError):
            raise ValueError("HMAC keys must be hex") from None

    def _mac(self, key: bytes, item: dict[str, Any]) -> bytes:
        return hmac.new(key, signing_string(item).encode("utf-8"), hashlib.sha256).digest()

    def sign(self, item: dict[str, Any]) -> str:
        """The ``hmacSignature`` for an item with the first (current) key."""
        return base64.b64encode(self._mac(self._keys[0], item)).decode("ascii")

    def verify_item(self, item: dict[str, Any], *, where: str = "item") -> None:
        """Check one item; ``CallbackRejected`` naming it when it fails."""
        extra = item.get("additionalData")
        signature = extra.get("hmacSignature") if isinstance(extra, dict) else None
        if not isinstance(signature, str) or not signature:
            raise MalformedCallback("has no additionalData.hmacSignature", where=where)
        try:
            given = base64.b64decode(signature.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raise MalformedCallback("hmacSignature is not base64", where=where) from None
        if len(given) != hashlib.sha256().digest_size:
            raise MalformedCallback("hmacSignature is not an HMAC-SHA256", where=where)
        matched = False
        for key in self._keys:
            matched |= equal(self._mac(key, item), given)
        if not matched:
            raise VerificationError("hmacSignature does not match a held key", where=where)

    def verify(self, body: bytes) -> list[dict[str, Any]]:
        """Every ``NotificationRequestItem`` of a delivery, each verified."""
        data = strict_object(body, where="body")
        items = data.get("notificationItems")
        if not isinstance(items, list) or not items:
            raise MalformedCallback("has no notificationItems", where="body")
        out: list[dict[str, Any]] = []
        for i, wrapper in enumerate(items):
            item = wrapper.get("NotificationRequestItem") if isinstance(wrapper, dict) else None
            if not isinstance(item, dict):
                raise MalformedCallback("is not a NotificationRequestItem", where=f"item {i}")
            self.verify_item(item, where=f"item {i}")
            out.append(item)
        return out
