"""Alipay RSA2 (SHA256withRSA) signing rules: two canonical strings, one exact response text.

- Requests: every parameter except ``sign`` with a non-empty value, sorted by key (ASCII),
  joined ``k=v`` with ``&``, values as they are (not URL-encoded). ``sign_type`` stays in.
- Async notifications: every parameter except ``sign`` **and** ``sign_type``, sorted,
  decoded values, empty ones included (Alipay's ``getSignCheckContentV1``).
- Synchronous responses: the signature covers the exact JSON text of the
  ``<method>_response`` member, byte for byte; the text is never re-serialised.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from paychannels.providers import rsa
from paychannels.security.jsontext import member_span
from paychannels.security.verification import MalformedCallback, VerificationError

__all__ = [
    "notify_content",
    "request_content",
    "response_node",
    "sign",
    "verify",
]


def request_content(params: Mapping[str, str]) -> str:
    """What a request's ``sign`` covers."""
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign" and params[k])


def notify_content(params: Mapping[str, str]) -> str:
    """What an async notification's ``sign`` covers."""
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k not in ("sign", "sign_type"))


def sign(key: rsa.PrivateKey, content: str, charset: str = "utf-8") -> str:
    """RSA2 signature of ``content`` (base64)."""
    return rsa.sign(key, content.encode(_codec(charset)))


def verify(
    key: rsa.PublicKey, content: str | bytes, signature: str, *, where: str, charset: str = "utf-8"
) -> None:
    """Check an RSA2 signature: ``MalformedCallback`` when it cannot be one (not base64, wrong
    length), ``VerificationError`` when it does not verify; never a crash."""
    try:
        raw = base64.b64decode("".join(signature.split()).encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise MalformedCallback("is not base64", where=where) from None
    if len(raw) != (key.key_size + 7) // 8:
        raise MalformedCallback(
            f"is {len(raw)} bytes, not a signature by a {key.key_size}-bit key", where=where
        )
    message = content if isinstance(content, bytes) else content.encode(_codec(charset))
    if not rsa.verify(key, message, raw):
        raise VerificationError("does not verify with the Alipay public key", where=where)


def response_node(raw: bytes, method: str) -> tuple[bytes, str | None]:
    """The exact text of a response's ``<method>_response`` (or ``error_response``) member,
    and its ``sign`` if the response carries one."""
    node_name = method.replace(".", "_") + "_response"
    span = member_span(raw, node_name, where="Alipay response")
    if span is None:
        span = member_span(raw, "error_response", where="Alipay response")
    if span is None:
        raise MalformedCallback(f"has no {node_name}", where="Alipay response")
    sign_span = member_span(raw, "sign", where="Alipay response")
    signature = None
    if sign_span is not None:
        text = raw[sign_span[0] : sign_span[1]]
        if not (len(text) >= 2 and text[:1] == b'"' and text[-1:] == b'"'):
            raise MalformedCallback("sign is not a string", where="Alipay response")
        signature = text[1:-1].decode("ascii", "replace").replace("\\/", "/")
    return raw[span[0] : span[1]], signature


def _codec(charset: str) -> str:
    return "gb18030" if charset.lower() in ("gbk", "gb2312", "gb18030") else "utf-8"
