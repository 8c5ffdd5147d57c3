"""``AEAD_AES_256_GCM``: the encrypted ``resource`` of WeChat Pay callbacks and certificates.

Key: the merchant's 32-byte APIv3 key. The base64 ciphertext already ends with the 16-byte
tag, so it goes to AES-GCM as it is; ``associated_data`` may be empty. A wrong key, a
tampered or truncated ciphertext all end in ``DecryptionError``, never a crash.
"""

from __future__ import annotations

import base64
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from paychannels.security.jsontext import plain_object
from paychannels.security.verification import DecryptionError, MalformedCallback, b64decode_strict
from paychannels.values.errors import ConfigurationError

__all__ = ["ALGORITHM", "ResourceCipher"]

ALGORITHM = "AEAD_AES_256_GCM"
_TAG = 16


class ResourceCipher:
    """Decrypts (and, for the simulator, encrypts) resources with one APIv3 key."""

    __slots__ = ("_aead",)

    def __init__(self, apiv3_key: str | bytes) -> None:
        key = apiv3_key.encode() if isinstance(apiv3_key, str) else apiv3_key
        if len(key) != 32:
            raise ConfigurationError("apiv3_key: must be exactly 32 bytes")
        self._aead = AESGCM(key)

    def decrypt(self, resource: Any, *, where: str = "resource") -> bytes:
        """The plaintext of a ``resource`` object; ``MalformedCallback``/``DecryptionError``."""
        # exact types (what JSON parsing yields): one C check each, no ABC look-up
        if type(resource) is not dict:
            raise MalformedCallback("is not an object", where=where)
        if resource.get("algorithm") != ALGORITHM:
            raise MalformedCallback(f"must be {ALGORITHM}", where=f"{where}.algorithm")
        nonce, text = resource.get("nonce"), resource.get("ciphertext")
        if type(nonce) is not str or not nonce:
            raise MalformedCallback("is missing or not text", where=f"{where}.nonce")
        if type(text) is not str or not text:
            raise MalformedCallback("is missing or not text", where=f"{where}.ciphertext")
        aad = resource.get("associated_data")
        if aad is None:
            aad = ""
        elif type(aad) is not str:
            raise MalformedCallback("must be text", where=f"{where}.associated_data")
        data = b64decode_strict(text)
        if data is None:
            raise MalformedCallback("is not valid base64", where=f"{where}.ciphertext")
        if len(data) <= _TAG:
            raise DecryptionError(
                "is shorter than its tag (truncated)", where=f"{where}.ciphertext"
            )
        nonce_bytes = nonce.encode()
        if len(nonce_bytes) != 12:
            raise MalformedCallback("must be 12 characters", where=f"{where}.nonce")
        try:
            return self._aead.decrypt(nonce_bytes, data, aad.encode())
        except InvalidTag:
            raise DecryptionError(
                "does not decrypt with our APIv3 key (tampered, truncated or another key)",
                where=f"{where}.ciphertext",
            ) from None

    def decrypt_json(self, resource: Any, *, where: str = "resource") -> dict[str, Any]:
        """The decrypted resource parsed as a JSON object."""
        plain = self.decrypt(resource, where=where)
        # AES-GCM has authenticated the plaintext as WeChat Pay's (our APIv3 key): no crafted
        # duplicate keys can be in it, so the plain C parser serves (the envelope, checked
        # only by RSA before, goes through strict_object)
        try:
            return plain_object(plain, where=where)
        except MalformedCallback:
            raise MalformedCallback(
                "decrypts to something that is not a JSON object", where=where
            ) from None

    def encrypt(
        self,
        plaintext: bytes,
        *,
        associated_data: str,
        original_type: str,
        nonce: str | None = None,
    ) -> dict[str, str]:
        """A ``resource`` object as WeChat Pay sends it (the simulator's side)."""
        nonce = nonce or os.urandom(6).hex()
        data = self._aead.encrypt(nonce.encode(), plaintext, associated_data.encode())
        return {
            "original_type": original_type,
            "algorithm": ALGORITHM,
            "ciphertext": base64.b64encode(data).decode("ascii"),
            "associated_data": associated_data,
            "nonce": nonce,
        }
