"""A channel's single-payment limit (``max_amount=`` on any channel URL) refuses before the intent.

Providers cap one payment (Alipay's ``total_amount`` for a code payment, a merchant's agreed
limit for 付款码, an acquirer's floor limit); a payment over it must be a typed error before
anything is written or sent, never money taken without a record or a DECLINED the payer
cannot act on.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from paychannels import Collector, Money, PaymentRequest, Status
from paychannels.channels.paycode import PayCodeRouter
from paychannels.channels.registry import open_channel
from paychannels.values.errors import AmountOverLimit, InvalidRequest, InvalidURL

WECHAT = "134567890123456789"


def request(amount: str, key: str, code: str | None = None) -> PaymentRequest:
    return PaymentRequest(
        payer_id=f"P-{key}",
        amount=Money(amount, "CNY"),
        reference="2026-fee",
        idempotency_key=key,
        payment_code=code,
    )


@pytest.fixture
def col(journal_url: str) -> Iterator[Collector]:
    c = Collector.open(journal_url, create=True)
    c.add_channel("hall", "memory://?max_amount=500.00")
    c.add_channel("wx", "memory://?max_amount=CNY%20100.00")
    c.add_channel("till", PayCodeRouter({"wechatpay": "wx"}))
    yield c
    c.close()


def test_over_the_limit_is_refused_before_anything_is_written(col: Collector) -> None:
    with pytest.raises(AmountOverLimit, match=r"500\.01 CNY .* 'hall' \(500\.00 CNY\)") as caught:
        col.collect(request("500.01", "a"), channel="hall")
    assert isinstance(caught.value, InvalidRequest)
    assert col.find() == []
    assert col.collect(request("500.00", "b"), channel="hall").status is Status.SUCCEEDED


def test_a_routed_payment_meets_the_limit_of_the_channel_it_goes_to(col: Collector) -> None:
    with pytest.raises(AmountOverLimit, match="'wx'"):
        col.collect(request("100.01", "c", WECHAT), channel="till")
    assert col.find() == []


def test_collect_many_gives_the_refusal_in_its_place(col: Collector) -> None:
    out = col.collect_many(
        [request("1.00", "d"), request("900.00", "e"), request("2.00", "f")], channel="hall"
    )
    assert [type(o).__name__ for o in out] == ["Payment", "AmountOverLimit", "Payment"]
    assert sorted(r.idempotency_key for r in col.find()) == ["d", "f"]


@pytest.mark.parametrize("bad", ["abc", "-1.00", "0", "1.001", "１００", ""])
def test_a_limit_that_is_no_amount_is_refused_when_the_channel_opens(bad: str) -> None:
    with pytest.raises(InvalidURL, match="max_amount"):
        open_channel(f"memory://?max_amount={bad}")


def test_a_payment_in_another_currency_than_the_limit_is_refused(col: Collector) -> None:
    other = PaymentRequest(
        payer_id="P-g", amount=Money("1.00", "EUR"), reference="2026-fee", idempotency_key="g"
    )
    with pytest.raises(AmountOverLimit, match="in EUR cannot be checked"):
        col.collect(other, channel="hall")
    assert col.find() == []
