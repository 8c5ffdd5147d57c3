"""The simulator's keys and ids, generated at start or loaded from a folder.

Both sides of each provider relationship: the merchant's key and certificate (the backend
signs with it, the simulator verifies), WeChat Pay's platform certificate key and its
separate public key (``PUB_KEY_ID_...``), the APIv3 key, Alipay's application key and
Alipay's own key. ``write(folder)`` leaves PEM files plus ready ``wechatpay.toml`` and
``alipay.toml`` channel config files for a backend to load.
"""

from __future__ import annotations

import json
import secrets
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa as crsa
from cryptography.x509.oid import NameOID

from paychannels.providers import rsa

__all__ = ["SimKeys"]

_FILES = {
    "merchant_key": "wechatpay_merchant_key.pem",
    "merchant_cert": "wechatpay_merchant_cert.pem",
    "platform_key": "wechatpay_platform_key.pem",
    "platform_cert": "wechatpay_platform_cert.pem",
    "pubkey_key": "wechatpay_pub_key_private.pem",
    "pubkey": "wechatpay_pub_key.pem",
    "app_key": "alipay_app_private_key.pem",
    "app_pub": "alipay_app_public_key.pem",
    "alipay_key": "alipay_private_key.pem",
    "alipay_pub": "alipay_public_key.pem",
}


def _new_key() -> rsa.PrivateKey:
    return crsa.generate_private_key(public_exponent=65537, key_size=2048)


def _cert(key: rsa.PrivateKey, common_name: str, serial: int) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=5 * 365))
        .sign(key, hashes.SHA256())
    )


def _pem_key(key: rsa.PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _pem_pub(key: rsa.PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@dataclass
class SimKeys:
    """Every key and id the provider simulator and a backend need."""

    mchid: str
    appid: str
    apiv3_key: str
    merchant_key: rsa.PrivateKey
    merchant_cert: x509.Certificate
    platform_key: rsa.PrivateKey
    platform_cert: x509.Certificate
    pubkey_key: rsa.PrivateKey
    pubkey_id: str
    alipay_app_id: str
    alipay_seller_id: str
    app_key: rsa.PrivateKey
    alipay_key: rsa.PrivateKey

    @classmethod
    def generate(cls) -> SimKeys:
        """Fresh keys (about a second of RSA key generation)."""
        merchant, platform = _new_key(), _new_key()
        alphabet = string.ascii_letters + string.digits
        return cls(
            mchid="19" + "".join(secrets.choice(string.digits) for _ in range(8)),
            appid="wx" + secrets.token_hex(8),
            apiv3_key="".join(secrets.choice(alphabet) for _ in range(32)),
            merchant_key=merchant,
            merchant_cert=_cert(merchant, "paychannels simulated merchant", secrets.randbits(120)),
            platform_key=platform,
            platform_cert=_cert(platform, "Tenpay.com Root CA (simulated)", secrets.randbits(120)),
            pubkey_key=_new_key(),
            pubkey_id="PUB_KEY_ID_" + secrets.token_hex(16).upper(),
            alipay_app_id="2021" + "".join(secrets.choice(string.digits) for _ in range(12)),
            alipay_seller_id="2088" + "".join(secrets.choice(string.digits) for _ in range(12)),
            app_key=_new_key(),
            alipay_key=_new_key(),
        )

    @property
    def merchant_serial(self) -> str:
        """The merchant certificate serial (the backend's ``merchant_serial``)."""
        return rsa.certificate_serial(self.merchant_cert)

    @property
    def platform_serial(self) -> str:
        """The platform certificate serial (``Wechatpay-Serial`` in certificate mode)."""
        return rsa.certificate_serial(self.platform_cert)

    def write(
        self, folder: Path, *, base_url: str, notify_url: str, alipay_notify_url: str | None = None
    ) -> None:
        """PEM files, ids, and channel config files a backend can load.

        ``notify_url`` goes into wechatpay.toml, ``alipay_notify_url`` (default: the same)
        into alipay.toml: each provider calls back on its own channel's path.
        """
        folder.mkdir(parents=True, exist_ok=True)
        cert_pem = serialization.Encoding.PEM
        blobs = {
            "merchant_key": _pem_key(self.merchant_key),
            "merchant_cert": self.merchant_cert.public_bytes(cert_pem),
            "platform_key": _pem_key(self.platform_key),
            "platform_cert": self.platform_cert.public_bytes(cert_pem),
            "pubkey_key": _pem_key(self.pubkey_key),
            "pubkey": _pem_pub(self.pubkey_key.public_key()),
            "app_key": _pem_key(self.app_key),
            "app_pub": _pem_pub(self.app_key.public_key()),
            "alipay_key": _pem_key(self.alipay_key),
            "alipay_pub": _pem_pub(self.alipay_key.public_key()),
        }
        for name, data in blobs.items():
            path = folder / _FILES[name]
            path.write_bytes(data)
            if name.endswith("key") or name == "pubkey_key":
                path.chmod(0o600)
        ids = {
            "mchid": self.mchid,
            "appid": self.appid,
            "apiv3_key": self.apiv3_key,
            "pubkey_id": self.pubkey_id,
            "alipay_app_id": self.alipay_app_id,
            "alipay_seller_id": self.alipay_seller_id,
        }
        (folder / "ids.json").write_text(json.dumps(ids, indent=2) + "\n", encoding="utf-8")
        (folder / "ids.json").chmod(0o600)
        (folder / "wechatpay.toml").write_text(
            "# WeChat Pay channel settings for the provider simulator\n"
            f"# channel URL: wechatpay+{base_url}?mchid={self.mchid}&appid={self.appid}\n"
            "[wechatpay]\n"
            f'merchant_serial = "{self.merchant_serial}"\n'
            f'private_key = "{_FILES["merchant_key"]}"\n'
            f'apiv3_key = "{self.apiv3_key}"\n'
            f'platform_certificates = ["{_FILES["platform_cert"]}"]\n'
            f'public_key = "{_FILES["pubkey"]}"\n'
            f'public_key_id = "{self.pubkey_id}"\n'
            f'notify_url = "{notify_url}"\n',
            encoding="utf-8",
        )
        (folder / "alipay.toml").write_text(
            "# Alipay channel settings for the provider simulator\n"
            f"# channel URL: alipay+{base_url}/gateway.do?app_id={self.alipay_app_id}\n"
            "[alipay]\n"
            f'app_private_key = "{_FILES["app_key"]}"\n'
            f'alipay_public_key = "{_FILES["alipay_pub"]}"\n'
            f'seller_id = "{self.alipay_seller_id}"\n'
            f'notify_url = "{alipay_notify_url or notify_url}"\n',
            encoding="utf-8",
        )
        for name in ("wechatpay.toml", "alipay.toml"):
            (folder / name).chmod(0o600)

    @classmethod
    def load(cls, folder: Path) -> SimKeys:
        """Keys written earlier by :meth:`write` (so a backend stays configured)."""
        ids = json.loads((folder / "ids.json").read_text(encoding="utf-8"))

        def key(name: str) -> rsa.PrivateKey:
            return rsa.load_private_key(folder / _FILES[name], option=name)

        def cert(name: str) -> x509.Certificate:
            return rsa.load_certificate(folder / _FILES[name], option=name)

        return cls(
            mchid=ids["mchid"],
            appid=ids["appid"],
            apiv3_key=ids["apiv3_key"],
            merchant_key=key("merchant_key"),
            merchant_cert=cert("merchant_cert"),
            platform_key=key("platform_key"),
            platform_cert=cert("platform_cert"),
            pubkey_key=key("pubkey_key"),
            pubkey_id=ids["pubkey_id"],
            alipay_app_id=ids["alipay_app_id"],
            alipay_seller_id=ids["alipay_seller_id"],
            app_key=key("app_key"),
            alipay_key=key("alipay_key"),
        )

    def wechat_options(self) -> dict[str, object]:
        """Keyword options for ``open_channel('wechatpay+http://...')`` (both key modes)."""
        return {
            "merchant_serial": self.merchant_serial,
            "private_key": _pem_key(self.merchant_key).decode(),
            "apiv3_key": self.apiv3_key,
            "platform_certificates": [
                self.platform_cert.public_bytes(serialization.Encoding.PEM).decode()
            ],
            "public_key": _pem_pub(self.pubkey_key.public_key()).decode(),
            "public_key_id": self.pubkey_id,
        }

    def alipay_options(self) -> dict[str, object]:
        """Keyword options for ``open_channel('alipay+http://...')``."""
        return {
            "app_private_key": _pem_key(self.app_key).decode(),
            "alipay_public_key": _pem_pub(self.alipay_key.public_key()).decode(),
        }
