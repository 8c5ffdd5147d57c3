"""The county's lookup key: ID numbers and names turned into keyed digests (HMAC-SHA256).

What a payer's own check keeps on a web server must not give away who the payers are if it
is copied: a plain hash of an 18-digit resident ID number is no protection (a region code,
some 25,000 birth dates and 1,000 sequence numbers are guessed in seconds), a keyed digest is
as long as the key stays elsewhere. The key comes from configuration
(``PAYCHANNELS_LOOKUP_KEY``: 32 or more random bytes, hex), never from a file next to the
index; its fingerprint travels with the index so a wrong key is noticed, not answered with
"not found" for everyone.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import unicodedata

from paychannels.values.errors import ConfigurationError

__all__ = ["KEY_VARIABLE", "PayerKey", "normal_name"]

#: the environment variable the key is read from (hex, at least 64 digits)
KEY_VARIABLE = "PAYCHANNELS_LOOKUP_KEY"
_MIN_BYTES = 32


def normal_name(name: str) -> str:
    """A name as compared: width and compatibility forms folded (NFKC), case folded, and only
    letters and digits kept — spaces, the middle dot of 阿依古丽·买买提 (typed as ·, • or ．),
    Mongolian variation selectors and vowel separators do not decide who someone is."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return "".join(c for c in folded if unicodedata.category(c)[0] in "LN")


class PayerKey:
    """A secret key and the two digests made with it: of an ID number, of a name."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) < _MIN_BYTES:
            raise ConfigurationError(f"a lookup key needs at least {_MIN_BYTES} bytes")
        self._key = key

    @classmethod
    def generate(cls) -> PayerKey:
        """A fresh random key (for an index that lives only as long as the process)."""
        return cls(secrets.token_bytes(_MIN_BYTES))

    @classmethod
    def from_hex(cls, text: str, *, where: str = "the lookup key") -> PayerKey:
        """The key written as hex digits (how ``PAYCHANNELS_LOOKUP_KEY`` holds it)."""
        try:
            key = bytes.fromhex(text.strip())
        except ValueError:
            raise ConfigurationError(f"{where} must be hex digits") from None
        if len(key) < _MIN_BYTES:
            raise ConfigurationError(f"{where} must have at least {2 * _MIN_BYTES} hex digits")
        return cls(key)

    @classmethod
    def from_env(cls, variable: str = KEY_VARIABLE) -> PayerKey:
        """The key from the environment; ``ConfigurationError`` naming the variable if unset."""
        text = os.environ.get(variable, "")
        if not text.strip():
            raise ConfigurationError(
                f"no lookup key: set {variable} to 64 hex digits "
                '(python -c "import secrets; print(secrets.token_hex(32))")'
            )
        return cls.from_hex(text, where=variable)

    def id_digest(self, id_number: str) -> str:
        """The keyed digest of an ID number (upper-case ``X``, no spaces), 32 hex digits."""
        value = id_number.strip().upper().encode("ascii", "replace")
        return hmac.new(self._key, b"id\x00" + value, hashlib.sha256).hexdigest()[:32]

    def name_digest(self, name: str) -> bytes:
        """The keyed digest of a name as compared (``normal_name``), 16 bytes."""
        value = normal_name(name).encode("utf-8")
        return hmac.new(self._key, b"name\x00" + value, hashlib.sha256).digest()[:16]

    @property
    def fingerprint(self) -> str:
        """Which key this is, without giving it away (stored with an index, shown in errors)."""
        return hmac.new(self._key, b"fingerprint", hashlib.sha256).hexdigest()[:12]

    def __repr__(self) -> str:
        return f"PayerKey(fingerprint={self.fingerprint})"
