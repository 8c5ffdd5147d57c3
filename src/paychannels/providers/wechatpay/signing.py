"""WeChat Pay API v3 signatures: ``WECHATPAY2-SHA256-RSA2048`` both ways.

Requests are signed with the merchant's private key over
``METHOD\\nPATH?QUERY\\nTIMESTAMP\\nNONCE\\nBODY\\n`` and carry the ``Authorization`` header.
Responses and callbacks are signed by WeChat Pay over ``TIMESTAMP\\nNONCE\\nBODY\\n`` (raw
body bytes, always a trailing newline) with the key named by ``Wechatpay-Serial``: a platform
certificate serial (valid at the time of verification) or a ``PUB_KEY_ID_...``. The shape of
the headers is checked first (a malformed one is ``MalformedCallback``), ``WECHATPAY/SIGNTEST/``
probes are refused, then the timestamp window, the signature's shape, the key and its size,
and RSA last: what we would refuse anyway costs no RSA (nor, for an unknown serial, a fetch of
certificates), so a flood of stale or forged callbacks costs comparisons only.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from paychannels.providers import rsa
from paychannels.providers.wechatpay.keys import KeyStore
from paychannels.security.verification import (
    Headers,
    MalformedCallback,
    SignatureProbe,
    VerificationError,
    b64decode_strict,
    check_window,
)

__all__ = [
    "ALGORITHM",
    "PROBE_PREFIX",
    "SignedHeaders",
    "authorization",
    "new_nonce",
    "parse_authorization",
    "request_message",
    "sign_headers",
    "verify_signed",
]

ALGORITHM = "WECHATPAY2-SHA256-RSA2048"
PROBE_PREFIX = "WECHATPAY/SIGNTEST/"
WINDOW = 300.0  # seconds; WeChat Pay's own rule (doc 4013053420 §2.1)
_NONCE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
#: the headers of a signed answer or callback, lower-case for ``Headers.pick``
_SIGNED = (
    "wechatpay-signature",
    "wechatpay-timestamp",
    "wechatpay-nonce",
    "wechatpay-serial",
    "wechatpay-signature-type",
)
_AUTH_FIELD = re.compile(r'\s*([a-z_]+)="([^"]*)"\s*')


def new_nonce(length: int = 32) -> str:
    """A random nonce string of upper-case letters and digits."""
    return "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(length))


def request_message(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    """What the merchant signs for one request."""
    head = f"{method}\n{path}\n{timestamp}\n{nonce}\n".encode()
    return head + body + b"\n"


def authorization(
    key: rsa.PrivateKey,
    *,
    mchid: str,
    serial_no: str,
    method: str,
    path: str,
    body: bytes,
    timestamp: str,
    nonce: str,
) -> str:
    """The ``Authorization`` header value for one request."""
    signature = rsa.sign(key, request_message(method, path, timestamp, nonce, body))
    return (
        f'{ALGORITHM} mchid="{mchid}",nonce_str="{nonce}",signature="{signature}",'
        f'timestamp="{timestamp}",serial_no="{serial_no}"'
    )


def parse_authorization(value: str) -> dict[str, str]:
    """The fields of an ``Authorization`` header (for the simulator); ``MalformedCallback``."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme != ALGORITHM:
        raise MalformedCallback(f"must start with {ALGORITHM}", where="header Authorization")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        match = _AUTH_FIELD.fullmatch(part)
        if match is None or match.group(1) in fields:
            raise MalformedCallback('is not a list of key="value"', where="header Authorization")
        fields[match.group(1)] = match.group(2)
    missing = {"mchid", "nonce_str", "signature", "timestamp", "serial_no"} - set(fields)
    if missing:
        raise MalformedCallback(f"lacks {', '.join(sorted(missing))}", where="header Authorization")
    return fields


@dataclass(frozen=True, slots=True)
class SignedHeaders:
    """The five ``Wechatpay-*`` headers of a signed response or callback."""

    signature: str
    timestamp: str
    nonce: str
    serial: str
    signature_type: str | None

    @classmethod
    def read(cls, headers: Headers) -> SignedHeaders:
        """Read and shape-check the headers; ``MalformedCallback`` names the bad one."""
        return cls(
            signature=headers.one("Wechatpay-Signature"),
            timestamp=headers.one("Wechatpay-Timestamp"),
            nonce=headers.one("Wechatpay-Nonce"),
            serial=headers.one("Wechatpay-Serial"),
            signature_type=headers.optional("Wechatpay-Signature-Type"),
        )


def verify_signed(
    headers: Headers,
    body: bytes,
    keys: KeyStore,
    *,
    now: Callable[[], float],
    window: float = WINDOW,
) -> str:
    """Prove that WeChat Pay signed ``body``; returns the serial that verified it.

    Cheapest first, RSA last: headers present, algorithm, timestamp shape, probe, timestamp
    window, base64, key by serial and its validity, signature length, RSA. Every failure is a
    ``CallbackRejected`` naming the header; a ``StaleTimestamp`` proves nothing about the sender.
    """
    signature, ts, nonce, serial, algorithm = headers.pick(_SIGNED)
    if signature is None or ts is None or nonce is None or serial is None:
        for name in _SIGNED[:4]:
            headers.one(name)  # raises, naming the first missing header
        raise AssertionError("unreachable")
    if algorithm is not None and algorithm != ALGORITHM:
        raise VerificationError(
            f"is {algorithm[:40]!r}, not {ALGORITHM}", where="header Wechatpay-Signature-Type"
        )
    if not (ts.isascii() and ts.isdigit() and len(ts) <= 12):
        raise MalformedCallback("is not a Unix time in seconds", where="header Wechatpay-Timestamp")
    if signature.startswith(PROBE_PREFIX):
        raise SignatureProbe("is a WeChat Pay signature probe", where="header Wechatpay-Signature")
    at, seconds = now(), int(ts)
    if abs(at - seconds) >= window:
        check_window(seconds, at, tolerance=window, where="header Wechatpay-Timestamp")
    raw = b64decode_strict(signature)
    if raw is None:
        raise MalformedCallback("is not base64", where="header Wechatpay-Signature")
    key = keys.verifier(serial, at=at)
    if len(raw) != (key.key_size + 7) // 8:
        raise MalformedCallback(
            f"is {len(raw)} bytes, not a signature by a {key.key_size}-bit key",
            where="header Wechatpay-Signature",
        )
    message = b"%s\n%s\n%s\n" % (ts.encode(), _header_bytes(nonce), body)
    if not rsa.verify(key, message, raw):
        raise VerificationError(
            f"does not verify with key {serial[:64]}", where="header Wechatpay-Signature"
        )
    return serial


def _header_bytes(value: str) -> bytes:
    """A header's bytes as sent: servers hand headers over decoded as latin-1 (PEP 3333)."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


def sign_headers(
    key: rsa.PrivateKey, serial: str, body: bytes, *, timestamp: int, nonce: str | None = None
) -> dict[str, str]:
    """The headers WeChat Pay puts on a response or callback (simulator and tests)."""
    nonce = nonce or new_nonce()
    message = b"%d\n%s\n%s\n" % (timestamp, nonce.encode(), body)
    return {
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": rsa.sign(key, message),
        "Wechatpay-Timestamp": str(timestamp),
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature-Type": ALGORITHM,
    }
