"""Payment codes: the provider from the prefix, the digits never shown, garbage refused typed."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paychannels.values.errors import InvalidRequest
from paychannels.values.models import PaymentRequest
from paychannels.values.money import Money
from paychannels.values.paymentcode import InvalidPaymentCode, PaymentCode

WECHAT = "134567890123456789"
ALIPAY = "285678901234567890"


def test_wechat_and_alipay_by_prefix_and_length() -> None:
    assert PaymentCode.parse(WECHAT).provider == "wechatpay"
    assert PaymentCode.parse("100000000000000000").provider == "wechatpay"
    assert PaymentCode.parse("159999999999999999").provider == "wechatpay"
    assert PaymentCode.parse(ALIPAY).provider == "alipay"
    assert PaymentCode.parse("2500000000000000").provider == "alipay"  # 16 digits
    assert PaymentCode.parse("300000000000000000000000").provider == "alipay"  # 24 digits


@pytest.mark.parametrize(
    "text",
    [
        "",
        "13456789012345678",  # 17 digits: no WeChat code
        "1345678901234567890",  # 19 digits
        "163456789012345678",  # 16: neither provider
        "093456789012345678",
        "313456789012345678",
        "250000000000000",  # 15 digits
        "2500000000000000000000000",  # 25 digits
        " 134567890123456789",
        "134567890123456789\n",
        "1345 67890123456789",
        "１３4567890123456789",  # full-width digits
        "+34567890123456789",
        "13456789012345678x",
    ],
)
def test_everything_else_is_refused_without_the_digits(text: str) -> None:
    with pytest.raises(InvalidPaymentCode) as caught:
        PaymentCode.parse(text)
    assert isinstance(caught.value, InvalidRequest)
    digits = "".join(c for c in text if c.isdigit())
    if len(digits) >= 6:
        assert digits[2:-4] not in str(caught.value)


def test_masked_repr_str_and_equality_by_digest() -> None:
    code = PaymentCode.parse(WECHAT)
    assert code.masked == "13************6789"
    assert WECHAT not in repr(code) and WECHAT not in str(code) and WECHAT not in f"{code!r}"
    assert code.reveal() == WECHAT
    assert code == PaymentCode.parse(WECHAT) and hash(code) == hash(PaymentCode.parse(WECHAT))
    assert code != PaymentCode.parse("134567890123456788")
    assert (
        len(code.digest) == 64
        and code.digest != __import__("hashlib").sha256(WECHAT.encode()).hexdigest()
    )  # domain-separated: not the digits' plain SHA-256
    with pytest.raises(TypeError):
        pickle.dumps(code)


def test_request_never_dumps_the_code_and_fingerprints_its_digest() -> None:
    def request(code: str | None) -> PaymentRequest:
        return PaymentRequest(
            payer_id="p1",
            amount=Money("1.00", "CNY"),
            reference="r",
            idempotency_key="k",
            payment_code=code,
        )

    with_code = request(WECHAT)
    assert isinstance(with_code.payment_code, PaymentCode)
    dumped = with_code.model_dump()
    shown = (repr(with_code), str(with_code), with_code.model_dump_json(), str(dumped))
    for text in shown:
        assert WECHAT not in text
    assert "payment_code" not in with_code.model_dump()
    assert request(None).fingerprint("c") != with_code.fingerprint("c")
    assert request("134567890123456788").fingerprint("c") != with_code.fingerprint("c")
    assert request(WECHAT).fingerprint("c") == with_code.fingerprint("c")
    with pytest.raises(InvalidPaymentCode) as caught:
        request("1345678901234 56789")
    assert "1345678901234" not in str(caught.value)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=40), st.from_regex(r"[0-9]{10,30}", fullmatch=True)))
def test_parse_never_crashes_and_never_leaks(text: str) -> None:
    try:
        code = PaymentCode.parse(text)
    except InvalidPaymentCode as exc:
        message = str(exc)
    else:
        message = ""
    digits = "".join(c for c in text if c in "0123456789")
    if len(digits) >= 8:
        assert digits[2:-4] not in message
    if message:
        return
    assert code.reveal() == text
    assert text not in repr(code) and text not in str(code) and text not in code.masked
    assert code.masked[:2] == text[:2] and code.masked[-4:] == text[-4:]
