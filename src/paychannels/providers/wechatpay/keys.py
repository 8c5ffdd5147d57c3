"""WeChat Pay's verification keys, chosen by ``Wechatpay-Serial``: both key modes side by side.

Platform certificates are named by their hex serial and expire and rotate: a certificate's
key verifies only inside its validity period, checked against the verifier's clock at each
verification (a leaked key of a retired certificate proves nothing). The WeChat Pay public
key is named ``PUB_KEY_ID_...`` and does not expire. During a merchant's migration
WeChat signs callbacks with either at random, so both are held at once and the header picks.
New platform certificates can be added while running (downloaded through
``/v3/certificates``); lookups and additions are thread-safe.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography import x509

from paychannels.providers import rsa
from paychannels.security.verification import ExpiredKey, UnknownKey

__all__ = ["KeyStore", "PlatformKey"]

_HEX = re.compile(r"^[0-9A-Fa-f]{1,64}$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class PlatformKey:
    """One verification key with its name and, for certificates, its validity."""

    serial: str
    key: rsa.PublicKey
    not_after: datetime | None = None
    not_before: datetime | None = None
    #: the validity as Unix times, computed once: a callback compares two floats
    valid_from: float = field(init=False, default=-math.inf)
    valid_until: float = field(init=False, default=math.inf)

    def __post_init__(self) -> None:
        if self.not_before is not None:
            object.__setattr__(self, "valid_from", self.not_before.timestamp())
        if self.not_after is not None:
            object.__setattr__(self, "valid_until", self.not_after.timestamp())

    def check_valid(self, at: float) -> None:
        """``ExpiredKey`` unless the Unix time ``at`` is inside the certificate's validity."""
        if self.valid_from <= at <= self.valid_until:
            return
        if self.not_before is not None and at < self.valid_from:
            problem = f"is not valid before {self.not_before.isoformat()}"
        else:
            problem = f"expired {self.not_after.isoformat() if self.not_after else '?'}"
        raise ExpiredKey(
            f"names certificate {self.serial[:64]}, which {problem}",
            where="header Wechatpay-Serial",
        )


class KeyStore:
    """Platform certificates by serial plus the public key by its id; see the module doc."""

    def __init__(
        self,
        certificates: list[x509.Certificate] | None = None,
        *,
        public_key: rsa.PublicKey | None = None,
        public_key_id: str | None = None,
    ) -> None:
        if (public_key is None) != (public_key_id is None):
            raise ValueError("public_key and public_key_id go together")
        self._lock = threading.Lock()
        self._by_number: dict[int, PlatformKey] = {}
        self._by_id: dict[str, PlatformKey] = {}
        if public_key is not None and public_key_id is not None:
            self._by_id[public_key_id] = PlatformKey(public_key_id, public_key)
        self.public_key_id = public_key_id
        for cert in certificates or []:
            self.add_certificate(cert)

    def add_certificate(self, cert: x509.Certificate) -> bool:
        """Hold a platform certificate's key; False if it was held already."""
        key = cert.public_key()
        if not isinstance(key, rsa.PublicKey):
            raise ValueError("a WeChat Pay platform certificate must hold an RSA key")
        entry = PlatformKey(
            rsa.certificate_serial(cert), key, cert.not_valid_after_utc, cert.not_valid_before_utc
        )
        with self._lock:
            if cert.serial_number in self._by_number:
                return False
            self._by_number[cert.serial_number] = entry
            return True

    def verifier(self, serial: str, *, at: float | None = None) -> rsa.PublicKey:
        """The key a ``Wechatpay-Serial`` names; ``UnknownKey`` when none is held.

        With ``at`` (Unix time of the verification), a certificate outside its validity
        period is ``ExpiredKey``.
        """
        # reads need no lock: additions replace whole dict entries, atomically in CPython
        found = self._by_id.get(serial)
        if found is None and _HEX.match(serial):
            found = self._by_number.get(int(serial, 16))
        if found is None:
            raise UnknownKey(
                f"names no key we hold ({serial[:64]!r})", where="header Wechatpay-Serial"
            )
        if at is not None:
            found.check_valid(at)
        return found.key

    def knows(self, serial: str) -> bool:
        """True when ``serial`` names a key we hold."""
        try:
            self.verifier(serial)
        except UnknownKey:
            return False
        return True

    def preferred_serial(self) -> str | None:
        """What to send as our ``Wechatpay-Serial``: the public key id, else the newest cert."""
        if self.public_key_id is not None:
            return self.public_key_id
        with self._lock:
            certs = list(self._by_number.values())
        if not certs:
            return None
        newest = max(certs, key=lambda e: e.not_after or _EPOCH)
        return newest.serial

    def serials(self) -> list[str]:
        """Every key name held (for ``describe`` and diagnostics)."""
        with self._lock:
            return [*self._by_id, *(e.serial for e in self._by_number.values())]

    def empty(self) -> bool:
        """True when no key at all is held (certificates must be downloaded first)."""
        with self._lock:
            return not self._by_id and not self._by_number
