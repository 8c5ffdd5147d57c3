"""The generic webhook verifiers: Stripe-style timestamped HMAC and Adyen-style item HMAC."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from paychannels.security.verification import MalformedCallback, StaleTimestamp, VerificationError
from paychannels.security.webhooks import ItemHmac, TimestampedHmac

NOW = 1767600000
BODY = b'{"id":"evt_1","type":"payment_intent.succeeded"}'


def stripe_mac(secret: str, t: int, body: bytes) -> str:
    """The MAC as Stripe documents it, computed independently of the verifier."""
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def verifier(*secrets: str, now: int = NOW) -> TimestampedHmac:
    return TimestampedHmac(list(secrets), now=lambda: now)


def test_timestamped_hmac_accepts_the_documented_mac() -> None:
    header = f"t={NOW},v1={stripe_mac('whsec_new', NOW, BODY)},v0=ignored"
    assert verifier("whsec_new").verify({"Stripe-Signature": header}, BODY) == NOW
    assert verifier("whsec_new").sign(BODY, timestamp=NOW) == header.removesuffix(",v0=ignored")


def test_rotation_both_ways() -> None:
    old, new = stripe_mac("whsec_old", NOW, BODY), stripe_mac("whsec_new", NOW, BODY)
    both = {"Stripe-Signature": f"t={NOW},v1={old},v1={new}"}
    assert verifier("whsec_new").verify(both, BODY) == NOW  # sender signs with both
    only_old = {"Stripe-Signature": f"t={NOW},v1={old}"}
    assert verifier("whsec_new", "whsec_old").verify(only_old, BODY) == NOW  # we hold both
    with pytest.raises(VerificationError):
        verifier("whsec_new").verify(only_old, BODY)


@pytest.mark.parametrize("skew", [-301, 301, -86400])
def test_window_in_both_directions(skew: int) -> None:
    t = NOW + skew
    header = {"Stripe-Signature": f"t={t},v1={stripe_mac('s', t, BODY)}"}
    with pytest.raises(StaleTimestamp):
        verifier("s").verify(header, BODY)
    assert verifier("s", now=t).verify(header, BODY) == t


@pytest.mark.parametrize(
    "header",
    ["", "v1=abc", "t=,v1=abc", "t=12a,v1=abc", f"t={NOW}", f"t={NOW},t={NOW},v1=a", "garbage"],
)
def test_malformed_headers(header: str) -> None:
    with pytest.raises(MalformedCallback):
        verifier("s").verify({"Stripe-Signature": header}, BODY)


def test_tampered_body_and_missing_header() -> None:
    header = {"Stripe-Signature": verifier("s").sign(BODY)}
    with pytest.raises(VerificationError):
        verifier("s").verify(header, BODY + b" ")
    with pytest.raises(MalformedCallback, match="missing"):
        verifier("s").verify({}, BODY)


ADYEN_KEY = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
ADYEN_ITEM = {
    "pspReference": "7914073381342284",
    "merchantAccountCode": "TestMerchant",
    "merchantReference": "TestPayment-1407325143704",
    "amount": {"value": 1130, "currency": "EUR"},
    "eventCode": "AUTHORISATION",
    "success": "true",
}


def test_item_hmac_matches_adyens_documented_example() -> None:
    assert ItemHmac([ADYEN_KEY]).sign(ADYEN_ITEM) == "coqCmt/IZ4E3CzPvMY8zTjQVL5hYJUiBRg8UU+iCWo0="


def test_item_hmac_batch_is_all_or_nothing() -> None:
    v = ItemHmac([ADYEN_KEY])
    good = {**ADYEN_ITEM, "additionalData": {"hmacSignature": v.sign(ADYEN_ITEM)}}
    bad = {**good, "amount": {"value": 1, "currency": "EUR"}}
    body = {"live": "false", "notificationItems": [{"NotificationRequestItem": good}]}
    assert v.verify(json.dumps(body).encode()) == [good]
    body["notificationItems"].append({"NotificationRequestItem": bad})
    with pytest.raises(VerificationError, match="item 1"):
        v.verify(json.dumps(body).encode())
    with pytest.raises(MalformedCallback):
        v.verify(b'{"notificationItems": []}')
    rotated = ItemHmac(["00" * 32, ADYEN_KEY])
    rotated.verify_item(good)
