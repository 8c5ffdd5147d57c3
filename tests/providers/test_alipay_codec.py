"""Alipay codec against fixtures (fixtures/alipay/<action>_<outcome>.json|form).

Answers are wrapped and signed as the gateway does (sign over the exact member text);
the GBK notification fixture is signed over its decoded values in GBK.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from paychannels import Money, Reason, Status, open_channel
from paychannels.providers.alipay import AlipayCodec, AlipayConfig, signing
from paychannels.providers.alipay.forms import decode_form, encode_form
from paychannels.providers.alipay.notify import NotifyReader
from paychannels.providers.alipay.replies import yuan
from paychannels.providers.base import AskAgain, CloseResult, HttpReply, OrderState
from paychannels.security.jsontext import member_span
from paychannels.security.verification import Headers, MalformedCallback, VerificationError
from paychannels.simulators.provider import SimKeys
from paychannels.values.errors import ConfigurationError, InvalidURL, ProtocolError
from paychannels.values.models import Payment, Refund
from paychannels.values.urls import parse_url
from tests.contract.harnesses.mobile import sim_keys
from tests.providers.countingkey import CountingKey

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "alipay"
PAY_ID = "pay_01JD3M8Q2W5X7Y9Z0ABCDEFGHJ"
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def keys() -> SimKeys:
    return sim_keys()


def codec_for(keys: SimKeys, **options: Any) -> AlipayCodec:
    url = f"alipay+https://openapi.alipay.com/gateway.do?app_id={keys.alipay_app_id}"
    opts = {**keys.alipay_options(), "notify_url": "https://e.org/n", **options}
    return AlipayCodec(
        AlipayConfig.from_url(parse_url(url), opts), gateway_path="/gateway.do", now=time.time
    )


@pytest.fixture(scope="module")
def codec(keys: SimKeys) -> AlipayCodec:
    return codec_for(keys, seller_id=keys.alipay_seller_id)


def answer(keys: SimKeys, method: str, name: str, *, sign: bool = True) -> HttpReply:
    node = (FIXTURES / name).read_bytes().strip()
    node_name = method.replace(".", "_") + "_response"
    body = b'{"%s":%s' % (node_name.encode(), node)
    if sign:
        signature = signing.sign(keys.alipay_key, node.decode())
        body += b',"sign":"%s"' % signature.encode()
    return HttpReply(200, Headers({}), body + b"}")


def payment(amount: str = "380.00", status: Status = Status.PENDING) -> Payment:
    return Payment(
        id=PAY_ID, status=status, channel="ali", payer_id="p", reference="r",
        amount=Money(amount, "CNY"), idempotency_key="k", created_at=T0, updated_at=T0,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "state", "status"),
    [
        ("query_trade_success.json", OrderState.PAID, Status.SUCCEEDED),
        ("query_trade_finished.json", OrderState.PAID, Status.SUCCEEDED),
        ("query_trade_closed_refunded.json", OrderState.PAID, Status.SUCCEEDED),
        ("query_trade_closed.json", OrderState.CLOSED, Status.CANCELLED),
        ("query_wait_buyer_pay.json", OrderState.UNPAID, Status.PENDING),
        ("query_trade_not_exist.json", OrderState.ABSENT, Status.NOT_SENT),
    ],
)
def test_trade_query(
    codec: AlipayCodec, keys: SimKeys, name: str, state: OrderState, status: Status
) -> None:
    view = codec.order_view(payment(), answer(keys, "alipay.trade.query", name))
    assert (view.state, view.outcome.status) == (state, status)
    if status is Status.SUCCEEDED:
        assert view.outcome.amount_taken == Money("380.00", "CNY")


def test_unsigned_or_tampered_success_is_not_believed(codec: AlipayCodec, keys: SimKeys) -> None:
    unsigned = answer(keys, "alipay.trade.query", "query_trade_success.json", sign=False)
    with pytest.raises(ProtocolError, match="without a sign"):
        codec.order_view(payment(), unsigned)
    good = answer(keys, "alipay.trade.query", "query_trade_success.json")
    tampered = HttpReply(200, good.headers, good.body.replace(b'"380.00"', b'"3.80"', 1))
    with pytest.raises(ProtocolError, match="not trustworthy"):
        codec.order_view(payment(), tampered)
    # re-serialised (spaces after separators): the sign covers the exact text
    spaced = HttpReply(200, good.headers, good.body.replace(b'","', b'", "', 1))
    with pytest.raises(ProtocolError):
        codec.order_view(payment(), spaced)


@pytest.mark.parametrize(
    ("name", "expected", "reason"),
    [
        ("precreate_ok.json", Status.PENDING, None),
        ("precreate_total_fee_exceed.json", Status.DECLINED, Reason.LIMIT_EXCEEDED),
        ("precreate_system_error.json", Status.UNKNOWN, Reason.NO_ANSWER),
        ("precreate_has_success.json", None, None),
    ],
)
def test_precreate_answers(
    codec: AlipayCodec, keys: SimKeys, name: str, expected: Status | None, reason: Reason | None
) -> None:
    result = codec.created(payment(), answer(keys, "alipay.trade.precreate", name), T0)
    if expected is None:
        assert isinstance(result, AskAgain)
        return
    assert not isinstance(result, AskAgain)
    assert result.status is expected and result.reason is reason
    if expected is Status.PENDING:
        assert str(result.data["qr_code"]).startswith("https://qr.alipay.com/")


def test_app_pay_is_a_signed_order_string_without_a_call(keys: SimKeys) -> None:
    codec = codec_for(keys, product="app")
    assert codec.create_order(payment(), T0) is None
    result = codec.created(payment(), None, T0)
    assert not isinstance(result, AskAgain) and result.status is Status.PENDING
    params = decode_form(str(result.data["order_string"]).encode())
    assert params["method"] == "alipay.trade.app.pay"
    signing.verify(
        keys.app_key.public_key(), signing.request_content(params), params["sign"], where="sign"
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("refund_fund_change_y.json", Status.SUCCEEDED),
        ("refund_fund_change_n.json", Status.PENDING),
        ("refund_seller_balance_not_enough.json", Status.DECLINED),
    ],
)
def test_refund_answers(codec: AlipayCodec, keys: SimKeys, name: str, expected: Status) -> None:
    refund = Refund(
        id="rfd_1", status=Status.PENDING, channel="ali", payer_id="p", reference="r",
        amount=Money("100.00", "CNY"), idempotency_key="rk", parent_id=PAY_ID,
        created_at=T0, updated_at=T0,
    )  # fmt: skip
    assert codec.refunded(refund, answer(keys, "alipay.trade.refund", name)).status is expected


def test_close_of_a_trade_not_opened_is_absent(codec: AlipayCodec, keys: SimKeys) -> None:
    reply = answer(keys, "alipay.trade.close", "query_trade_not_exist.json")
    assert codec.closed(payment(), reply) is CloseResult.ABSENT


def test_gbk_notification(codec: AlipayCodec, keys: SimKeys) -> None:
    raw = (FIXTURES / "notify_trade_success_gbk.form").read_bytes()
    raw = raw.replace(b"APPID", keys.alipay_app_id.encode())
    raw = raw.replace(b"SELLER", keys.alipay_seller_id.encode())
    fields = decode_form(raw)
    assert fields["subject"] == "城乡居民养老保险"
    fields["sign"] = signing.sign(keys.alipay_key, signing.notify_content(fields), "gbk")
    fields["sign_type"] = "RSA2"
    body = encode_form(fields, charset="gbk")
    reading = codec.read_callback(Headers({}), body)
    assert reading.error is None
    (notice,) = reading.notices
    assert notice.verified and notice.payment_id == PAY_ID and notice.problem is None
    assert notice.amount == Money("380.00", "CNY")
    # signed over the UTF-8 bytes instead: Alipay's GBK rule is not met, refused
    fields["sign"] = signing.sign(keys.alipay_key, signing.notify_content(fields), "utf-8")
    wrong = codec.read_callback(Headers({}), encode_form(fields, charset="gbk"))
    assert isinstance(wrong.error, VerificationError)


def test_notification_for_another_seller_is_a_problem(codec: AlipayCodec, keys: SimKeys) -> None:
    fields = {
        "app_id": keys.alipay_app_id, "seller_id": "2088000000000000", "charset": "utf-8",
        "out_trade_no": PAY_ID, "trade_status": "TRADE_SUCCESS", "total_amount": "380.00",
        "gmt_payment": "2026-01-05 17:30:00", "trade_no": "2026010522001404070200176844",
    }  # fmt: skip
    fields["sign"] = signing.sign(keys.alipay_key, signing.notify_content(fields))
    fields["sign_type"] = "RSA2"
    (notice,) = codec.read_callback(Headers({}), encode_form(fields)).notices
    assert notice.problem and "seller id" in notice.problem


def test_a_notification_we_would_refuse_costs_no_rsa(keys: SimKeys) -> None:
    """Its shape is checked before the signature: no order number, no status, an amount
    that is not yuan, a signature of the wrong length — refused without RSA work."""
    url = f"alipay+https://openapi.alipay.com/gateway.do?app_id={keys.alipay_app_id}"
    config = AlipayConfig.from_url(parse_url(url), {**keys.alipay_options()})
    counting = CountingKey(config.alipay_public_key)
    reader = NotifyReader(dataclasses.replace(config, alipay_public_key=counting))
    fields = {
        "app_id": keys.alipay_app_id, "charset": "utf-8", "out_trade_no": PAY_ID,
        "trade_status": "TRADE_SUCCESS", "total_amount": "380.00",
        "gmt_payment": "2026-01-05 17:30:00", "trade_no": "2026010522001404070200176844",
    }  # fmt: skip
    signature = signing.sign(keys.alipay_key, signing.notify_content(fields))
    signed = {**fields, "sign": signature, "sign_type": "RSA2"}
    broken: list[dict[str, str]] = [
        {k: v for k, v in signed.items() if k != "out_trade_no"},
        {k: v for k, v in signed.items() if k != "trade_status"},
        {**signed, "total_amount": "380.001"},
        {**signed, "sign": signature[:-8]},
    ]
    for bad in broken:
        reading = reader.read(encode_form(bad))
        assert isinstance(reading.error, MalformedCallback) and not reading.notices, bad
    assert counting.verifications == 0
    (notice,) = reader.read(encode_form(signed)).notices
    assert notice.verified and counting.verifications == 1


@pytest.mark.parametrize(
    ("text", "minor"),
    [("380.00", 38000), ("0.01", 1), ("380", 38000), ("380.5", 38050), ("0", 0)],
)
def test_yuan_is_exact(text: str, minor: int) -> None:
    assert yuan(text, where="x").minor == minor
    assert yuan(text, where="x").amount == Decimal(minor) / 100


@pytest.mark.parametrize("text", ["19.999", "-1.00", "+1", "1e2", "1,000.00", " 1", "", "0x10"])
def test_yuan_refuses_anything_else(text: str) -> None:
    with pytest.raises(ProtocolError):
        yuan(text, where="total_amount")


def test_member_span_finds_the_exact_text_despite_braces_in_strings() -> None:
    raw = b'{"sign":"x","a_response":{"msg":"}{\\"odd\\"","n":{"k":[1,{"z":"]"}]}} ,"t":1}'
    start, end = member_span(raw, "a_response", where="t")  # type: ignore[misc]
    assert raw[start:end] == b'{"msg":"}{\\"odd\\"","n":{"k":[1,{"z":"]"}]}}'
    with pytest.raises(MalformedCallback, match="twice"):
        member_span(b'{"a":1,"a":2}', "a", where="t")


def test_form_parsing_is_strict() -> None:
    assert decode_form(b"a=1&b=%E4%B8%AD+x") == {"a": "1", "b": "中 x"}
    for bad in (b"a=1&a=2", b"justtext", b"=1", b"a=1&charset=latin9"):
        with pytest.raises(MalformedCallback):
            decode_form(bad)


def test_plain_http_only_to_loopback(keys: SimKeys) -> None:
    url = f"alipay+http://openapi.alipay.com/gateway.do?app_id={keys.alipay_app_id}"
    with pytest.raises(InvalidURL, match="loopback"):
        open_channel(url, **keys.alipay_options())


def test_alipay_config_names_keys_by_owner(keys: SimKeys) -> None:
    url = parse_url(f"alipay+https://openapi.alipay.com/gateway.do?app_id={keys.alipay_app_id}")
    opts = keys.alipay_options()
    with pytest.raises(ConfigurationError, match="alipay_public_key"):
        AlipayConfig.from_url(url, {"app_private_key": opts["app_private_key"]})
    cfg = AlipayConfig.from_url(url, dict(opts))
    assert dataclasses.replace(cfg).app_id == keys.alipay_app_id
