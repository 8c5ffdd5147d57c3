"""python-alipay-sdk pays scanned codes at our simulator as its gateway (当面付 条码支付).

The SDK's ``api_alipay_trade_pay`` (scene=bar_code), ``api_alipay_trade_query`` and
``api_alipay_trade_cancel`` verify every answer over the exact response text: the simulator
speaks Alipay's wire, and its wallets move money as Alipay would (paid at once, waiting for
the password, cancelled, cancelled after paying — refunded).
"""

from __future__ import annotations

import secrets

from alipay import AliPay

from paychannels.simulators.provider import ProviderSimulator, SimKeys
from paychannels.simulators.provider.wallets import Wallet
from tests.peers.test_alipay_sdk import sdk


def wallet_of(sim: ProviderSimulator, fen: int, confirm_after: float | None = 0.0) -> Wallet:
    return sim.wallets.open("p" + secrets.token_hex(4), fen, confirm_after=confirm_after)


def number() -> str:
    return "pay_" + secrets.token_hex(12).upper()


def test_sdk_pays_a_code_at_once(keys: SimKeys, sim: ProviderSimulator) -> None:
    client: AliPay = sdk(keys, sim)
    wallet = wallet_of(sim, 50_000)
    no = number()
    code = sim.wallets.code(wallet.payer, "alipay")
    paid = client.api_alipay_trade_pay(
        no, "bar_code", code, "城乡居民养老保险", total_amount="380.00",
        product_code="FACE_TO_FACE_PAYMENT",
    )  # fmt: skip
    assert paid["code"] == "10000" and paid["total_amount"] == "380.00"
    assert wallet.balance_minor == 12_000
    query = client.api_alipay_trade_query(out_trade_no=no)
    assert query["trade_status"] == "TRADE_SUCCESS" and query["trade_no"] == paid["trade_no"]
    again = client.api_alipay_trade_pay(number(), "bar_code", code, "x", total_amount="1.00")
    assert again["sub_code"] == "ACQ.PAYMENT_AUTH_CODE_INVALID", "a code is good once"


def test_sdk_waits_then_cancels_and_a_paid_cancel_refunds(
    keys: SimKeys, sim: ProviderSimulator
) -> None:
    client: AliPay = sdk(keys, sim)
    wallet = wallet_of(sim, 50_000, None)  # confirms only when told
    waiting, late = number(), number()
    first = client.api_alipay_trade_pay(
        waiting, "bar_code", sim.wallets.code(wallet.payer, "alipay"), "x", total_amount="100.00"
    )
    assert first["code"] == "10003"
    assert client.api_alipay_trade_query(out_trade_no=waiting)["trade_status"] == "WAIT_BUYER_PAY"
    closed = client.api_alipay_trade_cancel(out_trade_no=waiting)
    assert closed["code"] == "10000" and closed["action"] == "close"
    assert client.api_alipay_trade_query(out_trade_no=waiting)["trade_status"] == "TRADE_CLOSED"
    assert not sim.alipay.codes.confirm(waiting) and wallet.balance_minor == 50_000

    client.api_alipay_trade_pay(
        late, "bar_code", sim.wallets.code(wallet.payer, "alipay"), "x", total_amount="1"
    )
    assert sim.alipay.codes.confirm(late) and wallet.balance_minor == 49_900
    refunded = client.api_alipay_trade_cancel(out_trade_no=late)
    assert refunded["code"] == "10000" and refunded["action"] == "refund"
    assert wallet.balance_minor == 50_000
    query = client.api_alipay_trade_query(out_trade_no=late)
    assert query["trade_status"] == "TRADE_CLOSED" and query["send_pay_date"]


def test_sdk_sees_short_balance_and_unknown_codes(keys: SimKeys, sim: ProviderSimulator) -> None:
    client: AliPay = sdk(keys, sim)
    poor = wallet_of(sim, 100)
    short = client.api_alipay_trade_pay(
        number(), "bar_code", sim.wallets.code(poor.payer, "alipay"), "x", total_amount="2.00"
    )
    assert short["sub_code"] == "ACQ.BUYER_BALANCE_NOT_ENOUGH" and poor.balance_minor == 100
    stranger = client.api_alipay_trade_pay(
        number(), "bar_code", "281234567890123456", "x", total_amount="2.00"
    )
    assert stranger["code"] == "40004"
    assert stranger["sub_code"] == "ACQ.PAYMENT_AUTH_CODE_INVALID"
