"""wechatpayv3 (the public SDK) pays by payment code against our simulator as its gateway.

Its ``CODEPAY`` pay type and ``codepay_reverse``, direct and service-provider forms: the SDK
accepts every signed answer (its own verification), and the wallets move as WeChat Pay's
rules say — paid at once, USERPAYING while the payer types, a reverse of a paid order gives
the money back, a code pays once.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest
from wechatpayv3 import WeChatPay, WeChatPayType

from paychannels.simulators.provider import ProviderSimulator, SimKeys
from tests.peers.wechatsdk import wechat_sdk


def sdk(
    keys: SimKeys, sim: ProviderSimulator, cert_dir: Path, *, partner: bool = False
) -> WeChatPay:
    public_key = sim.key_mode == "public_key"
    return wechat_sdk(
        keys,
        sim,
        cert_dir,
        pay_type=WeChatPayType.CODEPAY,
        public_key=public_key,
        partner_mode=partner,
    )


def codepay(wx: WeChatPay, code: str, total: int = 880, **kw: Any) -> tuple[str, int, dict]:
    number = "pc_" + secrets.token_hex(10)
    status, text = wx.pay(
        description="村级代收 2026",
        out_trade_no=number,
        amount={"total": total, "currency": "CNY"},
        payer={"auth_code": code},
        scene_info={"store_info": {"out_id": "village-7"}},
        pay_type=WeChatPayType.CODEPAY,
        **kw,
    )
    return number, status, json.loads(text) if text else {}


def test_sdk_codepay_paid_then_reverse_returns_the_money(
    keys: SimKeys, sim: ProviderSimulator, cert_dir: Path
) -> None:
    wx = sdk(keys, sim, cert_dir)
    sim.wallets.open("w", 10_000)
    number, status, body = codepay(wx, sim.wallets.code("w"))
    assert status == 200 and body["trade_state"] == "SUCCESS" and body["trade_type"] == "MICROPAY"
    assert sim.wallets.wallet("w").balance_minor == 10_000 - 880
    status, text = wx.codepay_reverse(out_trade_no=number)
    assert status == 200 and json.loads(text)["out_trade_no"] == number
    assert sim.wallets.wallet("w").balance_minor == 10_000
    status, text = wx.query(out_trade_no=number)
    assert status == 200 and json.loads(text)["trade_state"] == "REVOKED"


def test_sdk_codepay_user_paying_then_paid(
    keys: SimKeys, sim: ProviderSimulator, cert_dir: Path
) -> None:
    wx = sdk(keys, sim, cert_dir)
    sim.wallets.open("w", 10_000, confirm_after=60.0)
    number, status, body = codepay(wx, sim.wallets.code("w"))
    assert status == 202 and body["code"] == "USERPAYING"
    status, text = wx.query(out_trade_no=number)
    assert status == 200 and json.loads(text)["trade_state"] == "USERPAYING"
    sim.codepay.confirm(number)  # the payer enters the password
    status, text = wx.query(out_trade_no=number)
    assert json.loads(text)["trade_state"] == "SUCCESS"


def test_sdk_codepay_refusals(keys: SimKeys, sim: ProviderSimulator, cert_dir: Path) -> None:
    wx = sdk(keys, sim, cert_dir)
    sim.wallets.open("poor", 100)
    _, status, body = codepay(wx, sim.wallets.code("poor"))
    assert status == 403 and body["code"] == "NOTENOUGH"
    sim.wallets.open("w", 10_000)
    code = sim.wallets.code("w")
    assert codepay(wx, code)[1] == 200
    _, status, body = codepay(wx, code)
    assert status == 400 and body["code"] == "AUTH_CODE_INVALID" and "一次" in body["message"]


@pytest.mark.parametrize("sub_mchid", ["1900000109"])
def test_sdk_partner_codepay_and_reverse(
    keys: SimKeys, sim: ProviderSimulator, cert_dir: Path, sub_mchid: str
) -> None:
    wx = sdk(keys, sim, cert_dir, partner=True)
    sim.wallets.open("w", 10_000, confirm_after=None)  # walks away
    number, status, body = codepay(wx, sim.wallets.code("w"), sub_mchid=sub_mchid)
    assert status == 202 and body["code"] == "USERPAYING"
    status, text = wx.query(out_trade_no=number, sub_mchid=sub_mchid)
    assert json.loads(text)["sub_mchid"] == sub_mchid
    status, _ = wx.codepay_reverse(out_trade_no=number, sub_mchid=sub_mchid)
    assert status == 200
    status, text = wx.query(out_trade_no=number, sub_mchid=sub_mchid)
    assert json.loads(text)["trade_state"] == "REVOKED"
    assert sim.wallets.wallet("w").balance_minor == 10_000
