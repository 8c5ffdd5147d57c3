"""Downloading a day's bill from the provider simulator over real HTTP, both providers.

The simulator's book is the truth: what the bill lists must be what it took and gave back,
and the channel records it in the journal as its settlement for the day.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from paychannels import Money, Status
from paychannels.channels.mobile import MobilePayChannel
from paychannels.channels.settlement import SettlementKind, recorded_settlements
from paychannels.reconcile.arrivals import expected_minor
from paychannels.runtime.clock import BEIJING
from paychannels.simulators.provider import alipay_api, wechat_api
from paychannels.values.errors import ProtocolError
from tests.contract.harnesses.mobile import sim_keys
from tests.providers.support import PROVIDER, Stack


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    s = Stack.build(sim_keys(), f"sqlite:///{tmp_path}/j.db")
    yield s
    s.close()


def _paid(stack: Stack, channel: str, key: str, amount: str) -> str:
    p = stack.order(channel, key, amount)
    stack.sim.pay(PROVIDER[channel], p.id)
    stack.collector.recover()  # the order query finds it paid
    assert stack.collector.status(p.id).status is Status.SUCCEEDED
    return p.id


@pytest.mark.parametrize("channel", ["wx", "ali"])
@pytest.mark.slow
def test_the_day_bill_lists_what_the_provider_took(stack: Stack, channel: str) -> None:
    first = _paid(stack, channel, f"{channel}-1", "380.00")
    second = _paid(stack, channel, f"{channel}-2", "100.00")
    unpaid = stack.order(channel, f"{channel}-3", "50.00")  # never paid: not on the bill
    refund = stack.collector.refund(first, Money("80.00", "CNY"))
    assert refund.status is Status.SUCCEEDED
    ch = stack.channel(channel)
    today = datetime.now(BEIJING).date()
    bill = ch.download_bill(stack.collector.channel_context(channel), today)
    assert {(x.record_id, x.kind, x.minor) for x in bill.lines} == {
        (first, "payment", 38000),
        (second, "payment", 10000),
        (refund.id, "refund", 8000),
    }
    assert unpaid.id not in {x.record_id for x in bill.lines}
    [day] = recorded_settlements(stack.collector.journal)[channel]
    assert (day.kind, day.key, day.net_minor, day.payments, day.refunds) == (
        SettlementKind.PROVIDER,
        today.isoformat(),
        40000,
        2,
        1,
    )
    # downloading the same day again replaces the figures, never adds to them
    ch.download_bill(stack.collector.channel_context(channel), today)
    assert len(recorded_settlements(stack.collector.journal)[channel]) == 1


@pytest.mark.parametrize("channel", ["wx", "ali"])
@pytest.mark.slow
def test_a_day_without_trades_has_an_empty_bill(stack: Stack, channel: str) -> None:
    long_ago = datetime(2025, 1, 1, tzinfo=UTC).date()
    bill = stack.channel(channel).download_bill(stack.collector.channel_context(channel), long_ago)
    assert bill.lines == ()
    [day] = recorded_settlements(stack.collector.journal)[channel]
    assert (day.net_minor, day.payments, day.key) == (0, 0, "2025-01-01")


@pytest.mark.slow
def test_bill_urls_are_only_fetched_from_trusted_hosts(stack: Stack) -> None:
    ali, wx = stack.channel("ali"), stack.channel("wx")
    assert ali._bill_path("https://dwbillcenter.alipay.com/downloadBillFile.resource?x=1") is None
    assert ali._bill_path(f"{stack.sim.url}/bill/alipay/t") == "/bill/alipay/t"
    for url in (
        "http://dwbillcenter.alipay.com/x",  # not TLS
        "https://alipay.com.evil.example/x",
        "https://evil.example/x",
    ):
        with pytest.raises(ProtocolError, match="do not trust"):
            ali._bill_path(url)
    with pytest.raises(ProtocolError, match="do not trust"):
        wx._bill_path("https://dwbillcenter.alipay.com/x")  # WeChat names no file host


@pytest.mark.parametrize("channel", ["wx", "ali"])
@pytest.mark.slow
def test_a_bill_slower_than_a_payment_call_is_still_downloaded(
    stack: Stack, channel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    paid = _paid(stack, channel, f"{channel}-1", "380.00")
    # a channel whose payment calls give up after 0.3 s, and a provider that takes 0.8 s
    # to put the day's bill together (a busy day): the bill is given longer
    keys = sim_keys()
    if channel == "wx":
        url = f"wechatpay+{stack.sim.url}?mchid={keys.mchid}&appid={keys.appid}&timeout=0.3"
        options = {"notify_url": "http://127.0.0.1:9/", **keys.wechat_options()}
    else:
        url = f"alipay+{stack.sim.alipay_gateway}?app_id={keys.alipay_app_id}&timeout=0.3"
        options = {
            "notify_url": "http://127.0.0.1:9/",
            "seller_id": keys.alipay_seller_id,
            **keys.alipay_options(),
        }
    quick = stack.collector.add_channel(f"{channel}-quick", url, **options)
    module, name = (wechat_api, "wechat_bill") if channel == "wx" else (alipay_api, "alipay_bill")
    make = getattr(module, name)

    def slowly(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.8)
        return make(*args, **kwargs)

    monkeypatch.setattr(module, name, slowly)
    today = datetime.now(BEIJING).date()
    assert isinstance(quick, MobilePayChannel)
    bill = quick.download_bill(stack.collector.channel_context(f"{channel}-quick"), today)
    assert [(x.record_id, x.minor) for x in bill.lines] == [(paid, 38000)]


@pytest.mark.parametrize(("rate", "fee_minor"), [(None, 228 + 60), ("0.0038", 144 + 38)])
def test_alipay_bill_keeps_its_fees_back_at_the_simulators_rate(
    stack: Stack, rate: str | None, fee_minor: int
) -> None:
    """服务费 per trade at the simulator's rate (0.6 % unless told), to the fen, half up:
    the settlement declares them, so the arrival expected is the net less them."""
    if rate is not None:
        stack.sim.alipay.fee_rate = Decimal(rate)
    _paid(stack, "ali", "ali-1", "380.00")  # 0.38 %: 1.444 -> 1.44
    _paid(stack, "ali", "ali-2", "100.00")
    today = datetime.now(BEIJING).date()
    bill = stack.channel("ali").download_bill(stack.collector.channel_context("ali"), today)
    assert bill.fee_minor == fee_minor
    [day] = recorded_settlements(stack.collector.journal)["ali"]
    assert (day.net_minor, day.detail["fee_minor"]) == (48000, fee_minor)
    assert expected_minor(day) == 48000 - fee_minor
