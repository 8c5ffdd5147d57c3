"""The provider's bill lists scanned-code payments: paid, refunded, and paid then reversed.

``download_bill`` on the code channel records the day's WeChat Pay bill; reconciliation
then finds every code payment of the journal in it (none lost, none unconfirmed).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from paychannels import Collector, ManualClock, Money, PaymentRequest, Status
from paychannels.channels.codepay import CodePayChannel
from paychannels.providers.wechatpay.calls import out_trade_no
from paychannels.runtime.clock import BEIJING
from paychannels.simulators.provider import ProviderSimulator, SimKeys
from tests.contract.harnesses.mobile import started_sim

sim = pytest.fixture(started_sim, name="sim")


@pytest.fixture
def col(tmp_path: Path, sim: ProviderSimulator) -> Iterator[Collector]:
    keys: SimKeys = sim.keys
    c = Collector.open(f"sqlite:///{tmp_path}/j.db", create=True, clock=ManualClock())
    c.add_channel(
        "wx-codes",
        f"wechatpay+{sim.url}?mchid={keys.mchid}&appid={keys.appid}&trade_type=codepay"
        "&wait_interval=0.05&wait_limit=0.3",
        notify_url="http://127.0.0.1:9/n",
        timeout=2,
        **keys.wechat_options(),
    )
    yield c
    c.close()


def _pay(col: Collector, code: str, key: str, fen: int) -> str:
    return _pay_on(col, "wx-codes", code, key, fen)


def test_the_bill_lists_code_payments_refunds_and_reversals(
    col: Collector, sim: ProviderSimulator
) -> None:
    for payer in ("a", "b", "c", "d"):
        sim.wallets.open(payer, 10_000)
    sim.wallets.open("gone", 10_000, confirm_after=None)  # walks away: reversed, unpaid
    paid = _pay(col, sim.wallets.code("a"), "k-a", 1200)
    refunded = _pay(col, sim.wallets.code("b"), "k-b", 1500)
    voided = _pay(col, sim.wallets.code("c"), "k-c", 1700)
    walked = _pay(col, sim.wallets.code("gone"), "k-gone", 900)
    col.refund(refunded, Money.of_minor(500, "CNY"))
    col.cancel(voided)  # reversed the same day: the money went back
    assert col.status(voided).status is Status.REVERSED
    assert col.status(walked).status is Status.DECLINED

    channel = col.channel("wx-codes")
    assert isinstance(channel, CodePayChannel)
    day = datetime.now(BEIJING).date()  # the simulator books by its own (real) clock
    bill = channel.download_bill(col.channel_context("wx-codes"), day)

    payments = {line.record_id: line.minor for line in bill.lines if line.kind == "payment"}
    refunds = [line.minor for line in bill.lines if line.kind == "refund"]
    assert payments == {out_trade_no(paid): 1200, out_trade_no(refunded): 1500}
    assert refunds == [500]
    assert sum(sim.wallets.wallet(p).balance_minor for p in "abcd") == 40_000 - 1200 - 1000


def test_alipay_s_bill_lists_code_trades_and_their_refunds(
    tmp_path: Path, sim: ProviderSimulator
) -> None:
    keys: SimKeys = sim.keys
    col = Collector.open(f"sqlite:///{tmp_path}/a.db", create=True, clock=ManualClock())
    try:
        col.add_channel(
            "ali-codes",
            f"alipay+{sim.alipay_gateway}?app_id={keys.alipay_app_id}&product=bar_code"
            "&wait_interval=0.05&wait_limit=0.3&timeout=2",
            seller_id=keys.alipay_seller_id,
            **keys.alipay_options(),
        )
        for payer in ("a", "b", "c"):
            sim.wallets.open(payer, 10_000)
        paid = _pay_on(col, "ali-codes", sim.wallets.code("a", "alipay"), "k-a", 1200)
        refunded = _pay_on(col, "ali-codes", sim.wallets.code("b", "alipay"), "k-b", 1500)
        voided = _pay_on(col, "ali-codes", sim.wallets.code("c", "alipay"), "k-c", 1700)
        col.refund(refunded, Money.of_minor(500, "CNY"))
        col.cancel(voided)
        assert col.status(voided).status is Status.REVERSED
        channel = col.channel("ali-codes")
        assert isinstance(channel, CodePayChannel)
        day = datetime.now(BEIJING).date()
        bill = channel.download_bill(col.channel_context("ali-codes"), day)
    finally:
        col.close()
    # the voided trade is listed with its return under its own number (Alipay's cancel with
    # action=refund); reconciliation nets the two against the journal's REVERSED payment
    payments = {line.record_id: line.minor for line in bill.lines if line.kind == "payment"}
    assert payments == {paid: 1200, refunded: 1500, voided: 1700}
    refunds = {line.minor: line.record_id for line in bill.lines if line.kind == "refund"}
    assert set(refunds) == {500, 1700} and refunds[1700] == voided
    assert sum(sim.wallets.wallet(p).balance_minor for p in "abc") == 30_000 - 1200 - 1000


def _pay_on(col: Collector, channel: str, code: str, key: str, fen: int) -> str:
    request = PaymentRequest(
        payer_id=f"P-{key}",
        amount=Money.of_minor(fen, "CNY"),
        reference="fee",
        idempotency_key=key,
        payment_code=code,
    )
    return col.collect(request, channel=channel).id
