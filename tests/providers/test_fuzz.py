"""Hypothesis fuzzing of every parser and verifier: only our own error types may escape.

Garbage headers and bodies, mutated genuine callbacks, random JSON and forms go through the
WeChat Pay and Alipay callback readers, response readers, the strict JSON/form parsers, the
exact-span scanner and the generic webhook verifiers.
"""

from __future__ import annotations

import contextlib
import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paychannels import Money, PaychannelsError, Status
from paychannels.providers.alipay import AlipayCodec, AlipayConfig
from paychannels.providers.alipay.forms import decode_form
from paychannels.providers.alipay.replies import yuan
from paychannels.providers.base import HttpReply
from paychannels.providers.wechatpay import WechatPayCodec, WechatPayConfig
from paychannels.providers.wechatpay.signing import parse_authorization
from paychannels.security.jsontext import member_span, strict_object
from paychannels.security.verification import Headers
from paychannels.security.webhooks import ItemHmac, TimestampedHmac
from paychannels.simulators.provider.messages import wechat_notification, wechat_signed
from paychannels.values.models import Payment
from paychannels.values.urls import parse_url
from tests.contract.harnesses.mobile import sim_keys

KEYS = sim_keys()
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WX = WechatPayCodec(
    WechatPayConfig.from_url(
        parse_url(f"wechatpay+https://h.example?mchid={KEYS.mchid}&appid={KEYS.appid}"),
        {**KEYS.wechat_options(), "notify_url": "https://e.org/n"},
    ),
    now=time.time,
)
ALI = AlipayCodec(
    AlipayConfig.from_url(
        parse_url(f"alipay+https://h.example/gateway.do?app_id={KEYS.alipay_app_id}"),
        {**KEYS.alipay_options()},
    ),
    gateway_path="/gateway.do",
    now=time.time,
)
T0 = datetime(2026, 1, 5, tzinfo=UTC)
PAYMENT = Payment(
    id="pay_01JD3M8Q2W5X7Y9Z0ABCDEFGHJ", status=Status.PENDING, channel="c", payer_id="p",
    reference="r", amount=Money("1.00", "CNY"), idempotency_key="k", created_at=T0, updated_at=T0,
)  # fmt: skip

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
header_names = st.sampled_from(
    ["Wechatpay-Signature", "Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Serial",
     "Wechatpay-Signature-Type", "Stripe-Signature", "Content-Type", "X-Other"]
)  # fmt: skip
headers = st.lists(st.tuples(header_names, st.text(max_size=60)), max_size=8)


def _genuine() -> tuple[bytes, dict[str, str]]:
    resource = {"mchid": KEYS.mchid, "appid": KEYS.appid, "out_trade_no": PAYMENT.id,
                "trade_state": "SUCCESS", "amount": {"total": 100, "currency": "CNY"}}  # fmt: skip
    body = wechat_notification(
        resource, event_type="TRANSACTION.SUCCESS", original_type="transaction", keys=KEYS
    )
    signed = wechat_signed(body, KEYS, use_public_key=False, timestamp=int(time.time()))
    return body, signed


GENUINE_BODY, GENUINE_HEADERS = _genuine()


@FUZZ
@given(headers, st.binary(max_size=400))
@pytest.mark.slow
def test_wechat_callback_reader_never_crashes(pairs: list[tuple[str, str]], body: bytes) -> None:
    reading = WX.read_callback(Headers(pairs), body)
    assert reading.error is not None


@FUZZ
@given(st.integers(0, len(GENUINE_BODY) - 1), st.binary(min_size=1, max_size=3))
def test_mutated_genuine_callbacks_are_refused(at: int, junk: bytes) -> None:
    body = GENUINE_BODY[:at] + junk + GENUINE_BODY[at + 1 :]
    reading = WX.read_callback(Headers(GENUINE_HEADERS), body)
    if body != GENUINE_BODY:
        assert reading.error is not None
        assert all(not n.verified for n in reading.notices)


@FUZZ
@given(json_values)
@pytest.mark.slow
def test_wechat_resource_decryption_never_crashes(resource: Any) -> None:
    event = {"resource_type": "encrypt-resource", "event_type": "TRANSACTION.SUCCESS",
             "resource": resource}  # fmt: skip
    with contextlib.suppress(PaychannelsError):
        WX.callbacks.notice(json.dumps(event).encode(), verified=False)


@FUZZ
@given(st.integers(100, 599), json_values)
@pytest.mark.slow
def test_wechat_answers_never_crash(status: int, value: Any) -> None:
    body = json.dumps(value).encode()
    signed = wechat_signed(body, KEYS, use_public_key=True, timestamp=int(time.time()))
    reply = HttpReply(status, Headers(signed), body)
    for read in (
        lambda: WX.order_view(PAYMENT, reply),
        lambda: WX.created(PAYMENT, reply, T0),
        lambda: WX.closed(PAYMENT, reply),
    ):
        with contextlib.suppress(PaychannelsError):
            read()


@FUZZ
@given(st.binary(max_size=400))
def test_alipay_notify_reader_never_crashes(body: bytes) -> None:
    reading = ALI.read_callback(Headers({}), body)
    assert reading.error is not None


@FUZZ
@given(st.dictionaries(st.text(min_size=1, max_size=12), st.text(max_size=30), max_size=10))
@pytest.mark.slow
def test_alipay_forms_never_crash(fields: dict[str, str]) -> None:
    from urllib.parse import urlencode

    body = urlencode(fields).encode()
    reading = ALI.read_callback(Headers({}), body)
    assert reading.error is not None


@FUZZ
@given(st.binary(max_size=300), st.sampled_from(["alipay.trade.query", "alipay.trade.close"]))
@pytest.mark.slow
def test_alipay_answers_never_crash(body: bytes, method: str) -> None:
    reply = HttpReply(200, Headers({}), body)
    with contextlib.suppress(PaychannelsError):
        ALI.order_view(PAYMENT, reply) if method.endswith("query") else ALI.closed(PAYMENT, reply)


@FUZZ
@given(st.binary(max_size=300))
def test_strict_parsers_never_crash(raw: bytes) -> None:
    for parse in (
        lambda: strict_object(raw, where="b"),
        lambda: member_span(raw, "a", where="b"),
        lambda: decode_form(raw),
    ):
        with contextlib.suppress(PaychannelsError):
            parse()


@FUZZ
@given(st.dictionaries(st.text(max_size=6), json_values, max_size=5), st.text(max_size=6))
@pytest.mark.slow
def test_member_span_agrees_with_json(obj: dict[str, Any], key: str) -> None:
    raw = json.dumps(obj, ensure_ascii=False).encode()
    span = member_span(raw, key, where="t")
    if key in obj:
        assert span is not None and json.loads(raw[span[0] : span[1]]) == obj[key]
    else:
        assert span is None


@FUZZ
@given(st.text(max_size=30))
@pytest.mark.slow
def test_yuan_and_authorization_parsers_never_crash(text: str) -> None:
    for parse in (lambda: yuan(text, where="x"), lambda: parse_authorization(text)):
        with contextlib.suppress(PaychannelsError):
            parse()


@FUZZ
@given(headers, st.binary(max_size=200))
@pytest.mark.slow
def test_timestamped_hmac_never_crashes(pairs: list[tuple[str, str]], body: bytes) -> None:
    verifier = TimestampedHmac(["whsec_test"])
    with contextlib.suppress(PaychannelsError):
        verifier.verify(Headers(pairs), body)


@FUZZ
@given(json_values)
@pytest.mark.slow
def test_item_hmac_never_crashes(value: Any) -> None:
    verifier = ItemHmac(["44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"])
    with contextlib.suppress(PaychannelsError):
        verifier.verify(json.dumps(value).encode())
