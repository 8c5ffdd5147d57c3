"""An RSA public key that counts its verifications: proves which callbacks cost no RSA.

It implements cryptography's ``RSAPublicKey`` by handing every call to a real key, so the
code under test holds it like any key a provider's config loads; ``verifications`` says how
many signatures it was asked to check.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import AsymmetricPadding
from cryptography.hazmat.primitives.hashes import HashAlgorithm


class CountingKey(rsa.RSAPublicKey):
    """A real RSA public key, with a count of RSA verifications (``verify`` and
    ``recover_data_from_signature``: each is one public-key operation on a signature)."""

    def __init__(self, real: rsa.RSAPublicKey) -> None:
        self.real = real
        self.verifications = 0

    def verify(
        self, signature: bytes, data: bytes, padding: AsymmetricPadding, algorithm: Any
    ) -> None:
        self.verifications += 1
        self.real.verify(signature, data, padding, algorithm)

    def encrypt(self, plaintext: bytes, padding: AsymmetricPadding) -> bytes:
        return self.real.encrypt(plaintext, padding)

    @property
    def key_size(self) -> int:
        return self.real.key_size

    def public_numbers(self) -> rsa.RSAPublicNumbers:
        return self.real.public_numbers()

    def public_bytes(self, encoding: Any, format: Any) -> bytes:
        return self.real.public_bytes(encoding, format)

    def recover_data_from_signature(
        self, signature: bytes, padding: AsymmetricPadding, algorithm: HashAlgorithm | None
    ) -> bytes:
        self.verifications += 1  # the RSA work of rsa.verify (it opens, then compares)
        return self.real.recover_data_from_signature(signature, padding, algorithm)

    def __eq__(self, other: object) -> bool:
        return other is self

    def __hash__(self) -> int:
        return id(self)

    def __copy__(self) -> CountingKey:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> CountingKey:
        return self
