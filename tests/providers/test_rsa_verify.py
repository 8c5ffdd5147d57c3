"""SHA256withRSA verification answers exactly as OpenSSL's own verify, for every kind of lie.

``rsa.verify`` recovers the signed DigestInfo and compares it with SHA-256's in constant
time (one context less per call than ``RSAPublicKey.verify``): a signature over another
message, by another key, with another hash (SHA-1, SHA-512: a different DigestInfo), cut,
padded or with a flipped bit must all be refused, as the library's reference call refuses
them.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric import rsa as crsa

from paychannels.providers import rsa

KEY = crsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = crsa.generate_private_key(public_exponent=65537, key_size=2048)


def reference(key: rsa.PublicKey, message: bytes, signature: bytes) -> bool:
    try:
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def cases() -> list[tuple[str, bytes, bytes]]:
    out: list[tuple[str, bytes, bytes]] = []
    for i in range(20):
        message = os.urandom(i * 37) + "\n支付成功\n".encode()
        good = KEY.sign(message, padding.PKCS1v15(), hashes.SHA256())
        flipped = bytearray(good)
        flipped[i * 11 % len(good)] ^= 1 << (i % 8)
        out += [
            ("genuine", message, good),
            ("another message", message + b" ", good),
            ("another key", message, OTHER.sign(message, padding.PKCS1v15(), hashes.SHA256())),
            ("SHA-1", message, KEY.sign(message, padding.PKCS1v15(), hashes.SHA1())),
            ("SHA-512", message, KEY.sign(message, padding.PKCS1v15(), hashes.SHA512())),
            ("a bit flipped", message, bytes(flipped)),
            ("cut", message, good[:-1]),
            ("padded", message, good + b"\0"),
            ("zero", message, bytes(len(good))),
            ("the modulus", message, KEY.public_key().public_numbers().n.to_bytes(256, "big")),
            ("empty", message, b""),
        ]
    return out


def test_verify_answers_as_openssl_verify_for_every_case() -> None:
    public = KEY.public_key()
    seen = {"genuine": 0, "refused": 0}
    for label, message, signature in cases():
        expected = reference(public, message, signature)
        assert rsa.verify(public, message, signature) is expected, label
        assert expected is (label == "genuine"), label
        seen["genuine" if expected else "refused"] += 1
    assert seen == {"genuine": 20, "refused": 200}


def test_a_signature_shorter_than_the_modulus_is_refused_as_openssl_verify_refuses_it() -> None:
    """A valid signature whose first byte is 0 and was dropped is the same integer: OpenSSL's
    verify refuses it for its length, its recover does not look — ours must refuse it too."""
    for i in range(5000):  # one signature in 256 starts with a zero byte
        message = f"回调 {i}".encode()
        good = KEY.sign(message, padding.PKCS1v15(), hashes.SHA256())
        if good[0] == 0:
            break
    else:  # pragma: no cover - 5000 tries without one: (255/256)**5000
        raise AssertionError("no signature with a leading zero byte")
    short = good[1:]
    assert rsa.verify(KEY.public_key(), message, good)
    assert not reference(KEY.public_key(), message, short)
    assert not rsa.verify(KEY.public_key(), message, short)
