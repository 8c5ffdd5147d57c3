"""A WeChat Pay platform certificate is trusted only inside its validity period.

Throwaway certificates made with ``cryptography``: one expired yesterday, one valid from
tomorrow, one valid now (the control). A callback signed with the first two's keys is
refused at verification time (the clock the verifier runs on decides), and nothing in it
becomes even a hint.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa as crsa
from cryptography.x509.oid import NameOID

from paychannels.providers import rsa
from paychannels.providers.wechatpay import WechatPayCodec, WechatPayConfig
from paychannels.providers.wechatpay.keys import KeyStore
from paychannels.providers.wechatpay.signing import sign_headers, verify_signed
from paychannels.security.verification import ExpiredKey, Headers
from paychannels.simulators.provider import SimKeys
from paychannels.simulators.provider.book import Order
from paychannels.simulators.provider.messages import wechat_notification, wechat_transaction
from paychannels.values.urls import parse_url
from tests.contract.harnesses.mobile import sim_keys

DAY = timedelta(days=1)


def throwaway(not_before: datetime, not_after: datetime) -> tuple[rsa.PrivateKey, x509.Certificate]:
    key = crsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com sign (throwaway)")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    return key, cert


@pytest.fixture(scope="module")
def certs() -> dict[str, tuple[rsa.PrivateKey, x509.Certificate]]:
    now = datetime.now(UTC)
    return {
        "expired": throwaway(now - 400 * DAY, now - DAY),
        "not yet valid": throwaway(now + DAY, now + 400 * DAY),
        "valid": throwaway(now - DAY, now + 400 * DAY),
    }


@pytest.mark.parametrize("which", ["expired", "not yet valid"])
@pytest.mark.slow
def test_a_signature_by_a_certificate_outside_its_validity_is_refused(
    certs: dict[str, tuple[rsa.PrivateKey, x509.Certificate]], which: str
) -> None:
    key, cert = certs[which]
    store = KeyStore([cert, certs["valid"][1]])
    body = b'{"id":"x"}'
    now = time.time()
    headers = sign_headers(key, rsa.certificate_serial(cert), body, timestamp=int(now))
    with pytest.raises(ExpiredKey, match="Wechatpay-Serial"):
        verify_signed(Headers(headers), body, store, now=lambda: now)
    good_key, good = certs["valid"]
    ok = sign_headers(good_key, rsa.certificate_serial(good), body, timestamp=int(now))
    assert verify_signed(Headers(ok), body, store, now=lambda: now) == rsa.certificate_serial(good)


@pytest.mark.slow
def test_validity_is_checked_against_the_verifiers_clock(
    certs: dict[str, tuple[rsa.PrivateKey, x509.Certificate]],
) -> None:
    key, cert = certs["valid"]
    store = KeyStore([cert])
    body = b"{}"
    later = (cert.not_valid_after_utc + DAY).timestamp()
    headers = sign_headers(key, rsa.certificate_serial(cert), body, timestamp=int(later))
    with pytest.raises(ExpiredKey):
        verify_signed(Headers(headers), body, store, now=lambda: later)


def test_a_callback_signed_with_an_expired_certificate_yields_no_notice(
    certs: dict[str, tuple[rsa.PrivateKey, x509.Certificate]], tmp_path: Path
) -> None:
    keys: SimKeys = sim_keys()
    key, cert = certs["expired"]
    pem = tmp_path / "expired.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    options = {
        k: v
        for k, v in keys.wechat_options().items()
        if k not in ("public_key", "public_key_id", "platform_certificates")
    }
    url = f"wechatpay+https://api.mch.weixin.qq.com?mchid={keys.mchid}&appid={keys.appid}"
    config = WechatPayConfig.from_url(
        parse_url(url),
        {**options, "platform_certificates": [str(pem)], "notify_url": "https://e.org/n"},
    )
    codec = WechatPayCodec(config, now=time.time)
    order = Order(
        provider="wechatpay", number="P" * 20, amount_minor=38000, description="x",
        notify_url=None, expires=None, params="", trade_no="4200000000000000000000000001",
    )  # fmt: skip
    body = wechat_notification(
        wechat_transaction(order, keys), event_type="TRANSACTION.SUCCESS",
        original_type="transaction", keys=keys,
    )  # fmt: skip
    headers = sign_headers(key, rsa.certificate_serial(cert), body, timestamp=int(time.time()))
    reading = codec.read_callback(Headers(headers), body)
    assert isinstance(reading.error, ExpiredKey) and reading.error.status == 401
    assert reading.notices == [], "an expired certificate's signature is not even a hint"
    assert json.loads(codec.reject_reply(reading.error).body)["code"] == "FAIL"
