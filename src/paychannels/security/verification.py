"""Checking what others send us: the error types, constant-time comparison, the time window.

Every callback verifier (WeChat Pay, Alipay, the generic HMAC webhooks) raises one of the
``CallbackRejected`` family, each naming what was wrong and where (which header or field), and
carrying the HTTP status a receiver should answer with. None of them ever carries a secret.

``worth_asking`` says whether the refused content may still be genuine news, so that asking
the provider about it (rate-limited) is useful: a key we do not hold yet (rotation), or a
stale timestamp (a replay, or our clock) — refused before any signature work, so it proves
nothing by itself; a hint is read from it only where the content proves itself (WeChat Pay's
resource decrypts under our APIv3 key). A malformed signature, a probe, or a well-formed
signature that fails against a key we hold is a forgery: nothing is asked, nothing written.
"""

from __future__ import annotations

import binascii
import hmac
from collections.abc import Collection, Iterable, Iterator, Mapping

from paychannels.values.errors import ProtocolError

__all__ = [
    "CallbackRejected",
    "DecryptionError",
    "ExpiredKey",
    "Headers",
    "MalformedCallback",
    "PayloadTooLarge",
    "SignatureProbe",
    "StaleTimestamp",
    "UnknownKey",
    "VerificationError",
    "b64decode_strict",
    "check_window",
    "equal",
    "strict_b64decode",
]


class CallbackRejected(ProtocolError):
    """A callback or webhook we refuse; ``status`` is the HTTP status to answer with."""

    status: int = 400
    #: the content may be genuine news: worth a (rate-limited) question to the provider
    worth_asking: bool = False

    def __init__(self, message: str, *, where: str = "") -> None:
        super().__init__(f"{where} {message}" if where else message)
        self.where = where


class MalformedCallback(CallbackRejected):
    """Missing header, body that is not JSON or not a form, repeated keys, bad encoding."""


class PayloadTooLarge(CallbackRejected):
    """The body is larger than any genuine notification."""

    status = 413


class VerificationError(CallbackRejected):
    """The signature or MAC does not prove the sender: only a hint to go and ask."""

    status = 401


class StaleTimestamp(VerificationError):
    """The signed timestamp is outside the accepted window (replay or a wrong clock).

    WeChat Pay's verifier raises it before any RSA work (old news costs nothing to refuse), so
    it proves nothing about the sender; the generic HMAC webhooks raise it once the MAC holds.
    """

    worth_asking = True


class SignatureProbe(VerificationError):
    """A deliberate wrong-signature probe (WeChat's ``WECHATPAY/SIGNTEST/``)."""


class UnknownKey(VerificationError):
    """The key id (certificate serial, public-key id) names no key we hold."""

    worth_asking = True


class ExpiredKey(VerificationError):
    """The key named is a certificate outside its validity period at verification time."""


class DecryptionError(CallbackRejected):
    """An encrypted resource does not decrypt (truncated, wrong key, tampered)."""


def equal(a: bytes | str, b: bytes | str) -> bool:
    """Constant-time comparison of two MACs or signatures (text is compared as UTF-8)."""
    left = a.encode() if isinstance(a, str) else a
    right = b.encode() if isinstance(b, str) else b
    return hmac.compare_digest(left, right)


def check_window(timestamp: int, now: float, *, tolerance: float, where: str) -> None:
    """Refuse a signed timestamp more than ``tolerance`` seconds from ``now``, either way."""
    if abs(now - timestamp) >= tolerance:
        raise StaleTimestamp(
            f"is {int(now - timestamp)} s from now, outside ±{tolerance:g} s ({timestamp})",
            where=where,
        )


def strict_b64decode(text: str, *, where: str) -> bytes:
    """Standard base64 with padding, nothing else; ``MalformedCallback`` otherwise."""
    raw = b64decode_strict(text)
    if raw is None:
        raise MalformedCallback("is not valid base64", where=where)
    return raw


def b64decode_strict(text: str) -> bytes | None:
    """Standard padded base64 decoded in C with nothing tolerated, or None when it is not."""
    # an ASCII str goes to C as it is (no bytes copy); any other character is a ValueError
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        return None


class Headers(Mapping[str, str]):
    """HTTP headers looked up case-insensitively; a header we rely on must appear once.

    Built from a mapping (any case, Django-style ``HTTP_X_Y`` keys included) or from the
    ``(name, value)`` pairs a server hands over. A repeated header is remembered, and asking
    for it with ``one()`` is an error: two signatures on one request are never believed.
    """

    __slots__ = ("_items", "_repeated")

    def __init__(self, source: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        # a plain dict first: the Mapping check is an ABC look-up, on every callback
        pairs: Collection[tuple[str, str]]
        if type(source) is dict or isinstance(source, Mapping):
            pairs = source.items()
        else:
            pairs = list(source)
        # names seen before come from a plain dict (a C call); only a new one is worked out
        known = _NAMES.get
        self._items: dict[str, str] = {known(name) or _normal(name): value for name, value in pairs}
        self._repeated: set[str] = set()
        if len(self._items) != len(pairs):  # rare: find which names came twice
            seen: set[str] = set()
            for name, _ in pairs:
                key = _normal(name)
                if key in seen:
                    self._repeated.add(key)
                seen.add(key)

    def __getitem__(self, name: str) -> str:
        return self._items[_normal(name)]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def one(self, name: str) -> str:
        """The single value of a required header, or ``MalformedCallback`` naming it."""
        key = _normal(name)
        value = self._items.get(key)
        if self._repeated and key in self._repeated:
            raise MalformedCallback("appears more than once", where=f"header {name}")
        if value is None or not (value := value.strip()):
            raise MalformedCallback("is missing", where=f"header {name}")
        return value

    def pick(self, names: tuple[str, ...]) -> list[str | None]:
        """Several headers at once (hot path): values stripped, None when absent or empty.

        ``names`` must be lower-case; a repeated one is a ``MalformedCallback``.
        """
        if self._repeated:
            for name in names:
                if name in self._repeated:
                    raise MalformedCallback("appears more than once", where=f"header {name}")
        get = self._items.get
        return [(v.strip() or None) if (v := get(name)) is not None else None for name in names]

    def optional(self, name: str) -> str | None:
        """A header that may be absent (but not repeated)."""
        key = _normal(name)
        if key in self._repeated:
            raise MalformedCallback("appears more than once", where=f"header {name}")
        value = self._items.get(key)
        return None if value is None else value.strip()


#: header names as sent -> their lookup form; bounded, so a flood of invented names
#: cannot grow it (past the bound a new name is worked out each time, not remembered)
_NAMES: dict[str, str] = {}
_NAMES_MAX = 512


def _normal(name: str) -> str:
    known = _NAMES.get(name)
    if known is not None:
        return known
    key = name.lower()
    if key[:5] == "http_":  # WSGI/Django environ style: HTTP_WECHATPAY_SERIAL
        key = key[5:].replace("_", "-")
    if len(_NAMES) < _NAMES_MAX and type(name) is str:
        _NAMES[name] = key
    return key
