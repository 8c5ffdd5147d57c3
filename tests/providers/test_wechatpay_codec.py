"""WeChat Pay codec against fixtures (fixtures/wechatpay/<action>_<outcome>.json).

The fixtures hold WeChat Pay's documented answers; each test signs them with the test
platform key as WeChat Pay would, so what is tested is the codec's reading, not the keys.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from paychannels import Money, Reason, Status
from paychannels.channels.base import Notice
from paychannels.providers import rsa
from paychannels.providers.base import AskAgain, CloseResult, HttpReply, OrderState
from paychannels.providers.wechatpay import WechatPayCodec, WechatPayConfig
from paychannels.providers.wechatpay.keys import KeyStore
from paychannels.providers.wechatpay.signing import (
    SignedHeaders,
    parse_authorization,
    request_message,
    sign_headers,
    verify_signed,
)
from paychannels.security.verification import (
    Headers,
    MalformedCallback,
    SignatureProbe,
    StaleTimestamp,
    UnknownKey,
    VerificationError,
)
from paychannels.simulators.provider import SimKeys
from paychannels.values.errors import ConfigurationError, InvalidURL, ProtocolError
from paychannels.values.models import Outcome, Payment, Refund
from paychannels.values.urls import parse_url
from tests.contract.harnesses.mobile import sim_keys
from tests.providers.countingkey import CountingKey

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "wechatpay"
PAY_ID = "pay_01JD3M8Q2W5X7Y9Z0ABCDEFGHJ"
REFUND_ID = "rfd_01JD3M8Q2W5X7Y9Z0ABCDEFGHK"
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def keys() -> SimKeys:
    return dataclasses.replace(sim_keys(), mchid="1230000109", appid="wxd678efh567hg6787")


def config(keys: SimKeys, **options: Any) -> WechatPayConfig:
    url = f"wechatpay+https://api.mch.weixin.qq.com?mchid={keys.mchid}&appid={keys.appid}"
    opts = {**keys.wechat_options(), "notify_url": "https://example.org/n", **options}
    return WechatPayConfig.from_url(parse_url(url), opts)


@pytest.fixture(scope="module")
def codec(keys: SimKeys) -> WechatPayCodec:
    return WechatPayCodec(config(keys), now=time.time)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes().strip()


def reply(keys: SimKeys, status: int, body: bytes, *, serial: str | None = None) -> HttpReply:
    key, name = (
        (keys.pubkey_key, keys.pubkey_id)
        if serial == "pub"
        else (keys.platform_key, keys.platform_serial)
    )
    headers = sign_headers(key, name, body, timestamp=int(time.time()))
    return HttpReply(status, Headers(headers), body)


def payment(amount: str = "380.00") -> Payment:
    return Payment(
        id=PAY_ID, status=Status.PENDING, channel="wx", payer_id="p", reference="r",
        amount=Money(amount, "CNY"), idempotency_key="k", created_at=T0, updated_at=T0,
    )  # fmt: skip


def refund() -> Refund:
    return Refund(
        id=REFUND_ID, status=Status.PENDING, channel="wx", payer_id="p", reference="r",
        amount=Money("100.00", "CNY"), idempotency_key="rk", parent_id=PAY_ID,
        created_at=T0, updated_at=T0,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "state", "status"),
    [
        ("query_success.json", OrderState.PAID, Status.SUCCEEDED),
        ("query_refund.json", OrderState.PAID, Status.SUCCEEDED),
        ("query_notpay.json", OrderState.UNPAID, Status.PENDING),
        ("query_closed.json", OrderState.CLOSED, Status.CANCELLED),
        ("query_payerror.json", OrderState.FAILED, Status.DECLINED),
    ],
)
def test_order_query(
    codec: WechatPayCodec, keys: SimKeys, name: str, state: OrderState, status: Status
) -> None:
    view = codec.order_view(payment(), reply(keys, 200, fixture(name)))
    assert (view.state, view.outcome.status) == (state, status)
    if status is Status.SUCCEEDED:
        assert view.outcome.amount_taken == Money("380.00", "CNY")
        assert view.outcome.channel_ref == "1217752501201407033233368018"


def test_order_query_absent_and_amount_mismatch(codec: WechatPayCodec, keys: SimKeys) -> None:
    absent = codec.order_view(payment(), reply(keys, 404, fixture("query_not_exist.json")))
    assert absent.state is OrderState.ABSENT and absent.outcome.status is Status.NOT_SENT
    with pytest.raises(ProtocolError, match="journal has"):
        codec.order_view(payment("1.00"), reply(keys, 200, fixture("query_success.json")))


def test_unsigned_or_badly_signed_success_is_not_believed(
    codec: WechatPayCodec, keys: SimKeys
) -> None:
    body = fixture("query_success.json")
    with pytest.raises(ProtocolError, match="not trustworthy"):
        codec.order_view(payment(), HttpReply(200, Headers({}), body))
    signed = reply(keys, 200, body)
    with pytest.raises(ProtocolError):
        codec.order_view(payment(), HttpReply(200, signed.headers, body.replace(b"380", b"381")))
    # the public-key mode signs answers too, and both keys are held side by side
    assert (
        codec.order_view(payment(), reply(keys, 200, body, serial="pub")).state is OrderState.PAID
    )


@pytest.mark.parametrize(
    ("name", "status_code", "expected"),
    [
        ("create_native_ok.json", 200, Status.PENDING),
        ("create_rule_limit.json", 403, Status.DECLINED),
        ("create_system_error.json", 500, Status.UNKNOWN),
        ("create_sign_error.json", 401, Status.NOT_SENT),
        ("create_orderpaid.json", 403, None),
    ],
)
def test_create_answers(
    codec: WechatPayCodec, keys: SimKeys, name: str, status_code: int, expected: Status | None
) -> None:
    result = codec.created(payment(), reply(keys, status_code, fixture(name)), T0)
    if expected is None:
        assert isinstance(result, AskAgain)
        return
    assert not isinstance(result, AskAgain)
    assert result.status is expected
    if expected is Status.PENDING:
        assert result.data["code_url"] == "weixin://wxpay/bizpayurl?pr=p4lpSuKzz"
    if expected is Status.DECLINED:
        assert result.reason is Reason.LIMIT_EXCEEDED
        assert result.reason_detail and "RULE_LIMIT" in result.reason_detail


def test_app_prepay_gives_signed_client_params(keys: SimKeys) -> None:
    codec = WechatPayCodec(config(keys, trade_type="app"), now=time.time)
    result = codec.created(payment(), reply(keys, 200, fixture("create_app_ok.json")), T0)
    assert not isinstance(result, AskAgain)
    client = result.data["client"]
    assert isinstance(client, dict) and client["package"] == "Sign=WXPay"
    stamp, nonce, prepay = client["timestamp"], client["noncestr"], client["prepayid"]
    message = f"{keys.appid}\n{stamp}\n{nonce}\n{prepay}\n".encode()
    assert rsa.verify(
        keys.merchant_key.public_key(), message, base64.b64decode(str(client["sign"]))
    )


def test_create_body_is_deterministic_and_signed(codec: WechatPayCodec, keys: SimKeys) -> None:
    expires = T0 + timedelta(hours=2)
    one, two = codec.create_order(payment(), expires), codec.create_order(payment(), expires)
    assert one is not None and two is not None and one.body == two.body
    body = json.loads(one.body)
    assert body["amount"] == {"total": 38000, "currency": "CNY"}
    assert body["time_expire"] == "2026-01-05T19:00:00+08:00"
    auth = parse_authorization(dict(one.headers)["Authorization"])
    message = request_message("POST", one.path, auth["timestamp"], auth["nonce_str"], one.body)
    assert rsa.verify(keys.merchant_key.public_key(), message, base64.b64decode(auth["signature"]))


@pytest.mark.parametrize(
    ("name", "status_code", "expected"),
    [
        ("refund_success.json", 200, Status.SUCCEEDED),
        ("refund_processing.json", 200, Status.PENDING),
        ("refund_abnormal.json", 200, Status.UNKNOWN),
        ("refund_not_enough.json", 403, Status.DECLINED),
    ],
)
def test_refund_answers(
    codec: WechatPayCodec, keys: SimKeys, name: str, status_code: int, expected: Status
) -> None:
    outcome = codec.refunded(refund(), reply(keys, status_code, fixture(name)))
    assert outcome.status is expected
    if expected is Status.SUCCEEDED:
        assert outcome.amount_taken == Money("100.00", "CNY")
    if expected is Status.DECLINED:
        assert outcome.reason is Reason.INSUFFICIENT_FUNDS


def test_close_answers(codec: WechatPayCodec, keys: SimKeys) -> None:
    assert codec.closed(payment(), reply(keys, 204, b"")) is CloseResult.CLOSED
    assert codec.closed(payment(), reply(keys, 403, fixture("create_orderpaid.json"))) is (
        CloseResult.PAID
    )
    with pytest.raises(ProtocolError):
        codec.closed(payment(), HttpReply(204, Headers({}), b""))  # unsigned 204


def notification(keys: SimKeys, resource: dict[str, Any], event: str = "TRANSACTION.SUCCESS"):
    from paychannels.simulators.provider.messages import wechat_notification

    original = "refund" if event.startswith("REFUND") else "transaction"
    return wechat_notification(resource, event_type=event, original_type=original, keys=keys)


def test_callback_transaction_and_refund(codec: WechatPayCodec, keys: SimKeys) -> None:
    resource = json.loads(fixture("query_success.json"))
    body = notification(keys, resource)
    reading = codec.read_callback(Headers(reply(keys, 200, body).headers), body)
    assert reading.error is None
    (notice,) = reading.notices
    assert notice.verified and notice.payment_id == PAY_ID and notice.problem is None
    assert notice.amount == Money("380.00", "CNY") and notice.outcome is not None
    assert notice.outcome.status is Status.SUCCEEDED
    refund_body = notification(
        keys, json.loads(fixture("notify_refund_success.json")), "REFUND.SUCCESS"
    )
    reading = codec.read_callback(Headers(reply(keys, 200, refund_body).headers), refund_body)
    (notice,) = reading.notices
    assert notice.payment_id == REFUND_ID and notice.amount == Money("100.00", "CNY")


@pytest.mark.parametrize("name", ["query_success.json", "query_refund.json", "query_notpay.json"])
def test_callback_notice_is_what_validation_would_build(
    codec: WechatPayCodec, keys: SimKeys, name: str
) -> None:
    # the hot path builds Notice and Outcome from values it checked itself, without pydantic's
    # second pass: the result must be the very object validation builds from the same fields
    body = notification(keys, json.loads(fixture(name)))
    (notice,) = codec.read_callback(Headers(reply(keys, 200, body).headers), body).notices
    assert notice.outcome is not None
    assert Outcome.model_validate(notice.outcome.model_dump()) == notice.outcome
    assert Notice.model_validate(notice.model_dump()) == notice
    assert notice.model_fields_set == set(Notice.model_fields)


@pytest.mark.parametrize("bad", [12345, ["4200"], {"id": 1}])
def test_callback_with_a_transaction_id_that_is_not_text_is_refused(
    codec: WechatPayCodec, keys: SimKeys, bad: object
) -> None:
    resource = {**json.loads(fixture("query_success.json")), "transaction_id": bad}
    body = notification(keys, resource)
    reading = codec.read_callback(Headers(reply(keys, 200, body).headers), body)
    assert isinstance(reading.error, MalformedCallback) and not reading.notices
    assert "transaction_id" in str(reading.error)


def test_signature_checks(keys: SimKeys) -> None:
    store = KeyStore(
        [keys.platform_cert],
        public_key=rsa.load_public_key(str(keys.wechat_options()["public_key"])),
        public_key_id=keys.pubkey_id,
    )
    body = b'{"x":1}'
    now = time.time()
    good = sign_headers(keys.platform_key, keys.platform_serial, body, timestamp=int(now))
    assert verify_signed(Headers(good), body, store, now=lambda: now) == keys.platform_serial
    # serial in lower case or with leading zeros names the same certificate
    lower = {**good, "Wechatpay-Serial": "00" + keys.platform_serial.lower()}
    verify_signed(Headers(lower), body, store, now=lambda: now)
    # Django-style and lower-case header names
    django = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in good.items()}
    verify_signed(Headers(django), body, store, now=lambda: now)
    for shift in (-301, 301):  # both directions
        with pytest.raises(StaleTimestamp):
            verify_signed(Headers(good), body, store, now=lambda s=shift: now + s)
    probe = {**good, "Wechatpay-Signature": "WECHATPAY/SIGNTEST/abc=="}
    with pytest.raises(SignatureProbe):
        verify_signed(Headers(probe), body, store, now=lambda: now)
    with pytest.raises(UnknownKey):
        verify_signed(
            Headers({**good, "Wechatpay-Serial": "PUB_KEY_ID_X"}), body, store, now=lambda: now
        )
    twice = [*good.items(), ("Wechatpay-Signature", good["Wechatpay-Signature"])]
    with pytest.raises(MalformedCallback, match="more than once"):
        verify_signed(Headers(twice), body, store, now=lambda: now)
    with pytest.raises(VerificationError):
        verify_signed(Headers(good), body + b" ", store, now=lambda: now)
    assert SignedHeaders.read(Headers(good)).signature_type == "WECHATPAY2-SHA256-RSA2048"


def test_a_stale_callback_costs_no_rsa(keys: SimKeys) -> None:
    """The window, the probe and the serial are checked before any RSA work: a callback we
    cannot take costs a comparison, and an unknown serial on old news fetches no keys."""
    counting = CountingKey(rsa.load_public_key(str(keys.wechat_options()["public_key"])))
    store = KeyStore(public_key=counting, public_key_id=keys.pubkey_id)
    body = b'{"x":1}'
    now = time.time()
    good = sign_headers(keys.pubkey_key, keys.pubkey_id, body, timestamp=int(now))
    other = sign_headers(keys.pubkey_key, keys.pubkey_id, b"{}", timestamp=int(now))
    forged = {**good, "Wechatpay-Signature": other["Wechatpay-Signature"]}
    unknown = {**good, "Wechatpay-Serial": "PUB_KEY_ID_0000000000000000000000000000000000"}
    for headers in (good, forged, unknown):
        for shift in (-301, 301, 86400):
            with pytest.raises(StaleTimestamp):
                verify_signed(Headers(headers), body, store, now=lambda s=shift: now + s)
    assert counting.verifications == 0
    probe = {**good, "Wechatpay-Signature": "WECHATPAY/SIGNTEST/abc=="}
    with pytest.raises(SignatureProbe):
        verify_signed(Headers(probe), body, store, now=lambda: now + 301)
    assert counting.verifications == 0
    assert verify_signed(Headers(good), body, store, now=lambda: now) == keys.pubkey_id
    assert counting.verifications == 1


def test_configuration_errors_name_the_option_not_the_key(keys: SimKeys) -> None:
    with pytest.raises(ConfigurationError, match="private_key") as info:
        config(keys, private_key="-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
    assert "AAAA" not in str(info.value)
    with pytest.raises(ConfigurationError, match="32 bytes"):
        config(keys, apiv3_key="short")
    with pytest.raises(ConfigurationError, match="unknown option"):
        config(keys, api_secret="x")
    with pytest.raises(InvalidURL, match="secret"):
        parse_url("wechatpay+https://api.mch.weixin.qq.com?mchid=1&apiv3_key=abc")


def test_config_file_with_relative_key_paths(keys: SimKeys, tmp_path: Path) -> None:
    keys.write(tmp_path, base_url="https://api.mch.weixin.qq.com", notify_url="https://e.org/n")
    url = f"wechatpay+https://api.mch.weixin.qq.com?mchid={keys.mchid}&appid={keys.appid}"
    cfg = WechatPayConfig.from_url(parse_url(url), {"config": str(tmp_path / "wechatpay.toml")})
    assert cfg.keys.knows(keys.platform_serial) and cfg.keys.knows(keys.pubkey_id)
    assert cfg.keys.preferred_serial() == keys.pubkey_id


def test_the_accept_reply_is_the_plain_204_each_time_a_fresh_one(codec: WechatPayCodec) -> None:
    """Built without validation on every paid callback: it must equal the validated one,
    and no two callers share its headers."""
    from paychannels.channels.base import Reply

    first, second = codec.accept_reply(), codec.accept_reply()
    assert first == Reply(status_code=204) == second
    assert first.headers is not second.headers
