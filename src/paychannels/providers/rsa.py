"""RSA keys as providers hand them out, and SHA256withRSA (PKCS#1 v1.5) signatures.

Keys arrive as PEM text, as a path to a PEM file, or (Alipay's habit) as bare base64 DER on
one line. Loading errors name the option, never the key. Verification never raises on a
malformed signature: it answers False, so a probe or garbage cannot crash a receiver.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from paychannels.values.errors import ConfigurationError

__all__ = [
    "PrivateKey",
    "PublicKey",
    "certificate_serial",
    "load_certificate",
    "load_private_key",
    "load_public_key",
    "public_key_base64",
    "sign",
    "verify",
]

PrivateKey = rsa.RSAPrivateKey
PublicKey = rsa.RSAPublicKey

_PKCS1 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()
#: DER of a SHA-256 DigestInfo up to the 32 bytes of the hash (RFC 8017 §9.2, note 1)
_SHA256_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def _material(value: str | bytes | Path, option: str) -> bytes:
    """The bytes of a key given inline (PEM or base64) or as a path to a file."""
    if isinstance(value, Path):
        return _read(value, option)
    raw = value.encode() if isinstance(value, str) else value
    text = raw.strip()
    if b"-----BEGIN" in text:
        return text
    if b"\n" not in text and len(text) < 4096 and not text.startswith(b"MII"):
        path = Path(text.decode(errors="replace"))
        if path.exists():
            return _read(path, option)
    try:
        return base64.b64decode(b"".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError(
            f"{option}: neither PEM text, base64 DER nor a path to an existing file"
        ) from None


def _read(path: Path, option: str) -> bytes:
    try:
        return path.read_bytes().strip()
    except OSError as exc:
        raise ConfigurationError(f"{option}: cannot read {path}: {exc.strerror}") from None


def load_private_key(value: str | bytes | Path, *, option: str = "private_key") -> PrivateKey:
    """An RSA private key (PKCS#8 or PKCS#1, PEM or DER), at least 2048 bits."""
    data = _material(value, option)
    try:
        if data.startswith(b"-----BEGIN"):
            key = serialization.load_pem_private_key(data, password=None)
        else:
            key = serialization.load_der_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ConfigurationError(f"{option}: not an unencrypted RSA private key") from None
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 2048:
        raise ConfigurationError(f"{option}: must be an RSA key of at least 2048 bits")
    return key


def load_public_key(value: str | bytes | Path, *, option: str = "public_key") -> PublicKey:
    """An RSA public key (SubjectPublicKeyInfo or PKCS#1, PEM or DER) or a certificate's key."""
    data = _material(value, option)
    if b"BEGIN CERTIFICATE" in data:
        return _rsa_public(load_certificate(data, option=option).public_key(), option)
    try:
        if data.startswith(b"-----BEGIN"):
            key = serialization.load_pem_public_key(data)
        else:
            key = serialization.load_der_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ConfigurationError(f"{option}: not an RSA public key") from None
    return _rsa_public(key, option)


def _rsa_public(key: object, option: str) -> PublicKey:
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size < 2048:
        raise ConfigurationError(f"{option}: must be an RSA key of at least 2048 bits")
    return key


def load_certificate(value: str | bytes | Path, *, option: str = "certificate") -> x509.Certificate:
    """An X.509 certificate in PEM (or DER)."""
    data = _material(value, option)
    try:
        if data.startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError:
        raise ConfigurationError(f"{option}: not an X.509 certificate") from None


def certificate_serial(cert: x509.Certificate) -> str:
    """The serial as WeChat Pay writes it: upper-case hex without leading zeros."""
    return f"{cert.serial_number:X}"


def public_key_base64(key: PublicKey) -> str:
    """A public key as one line of base64 DER (how Alipay shows keys)."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode("ascii")


def sign(key: PrivateKey, message: bytes) -> str:
    """SHA256withRSA over ``message``, base64 (PKCS#1 v1.5 is deterministic)."""
    return base64.b64encode(key.sign(message, _PKCS1, _SHA256)).decode("ascii")


def verify(key: PublicKey, message: bytes, signature: bytes) -> bool:
    """True when ``signature`` (raw bytes) is SHA256withRSA over ``message`` by ``key``.

    RFC 8017 §8.2.2 by construction and comparison: OpenSSL opens the signature and checks
    its PKCS#1 v1.5 padding; the DigestInfo inside must equal SHA-256's of ``message``,
    compared in constant time. One OpenSSL context a call instead of two (hash and verify):
    ~2.5 µs of ~27 on every callback; tests/providers/test_rsa_verify.py holds it to
    OpenSSL's own verify for every kind of forgery.
    """
    if len(signature) != (key.key_size + 7) // 8:
        return False  # (verify checks the length; recover takes a shorter one as the integer)
    try:
        signed = key.recover_data_from_signature(signature, _PKCS1, None)
    except (InvalidSignature, ValueError):
        return False
    return hmac.compare_digest(signed, _SHA256_INFO + hashlib.sha256(message).digest())
