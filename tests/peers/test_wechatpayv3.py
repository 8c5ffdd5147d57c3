"""wechatpayv3 (the public Python SDK) as a peer: it accepts our simulator, and agrees with us.

- Our simulator's callbacks verify and decrypt with ``WeChatPay.callback()``, in platform
  certificate and public-key mode.
- The SDK uses the simulator as its gateway (pay, query, close, refund, refund query) and
  accepts every signed answer, 204 included.
- Our verifier and the SDK agree on valid, tampered, re-serialised, forged and probe
  callbacks; on stale ones they differ on purpose (the SDK has no timestamp window).
- Our ``Authorization`` is byte-identical to the SDK's for the same inputs.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

import pytest
import wechatpayv3.utils
from wechatpayv3 import WeChatPay, WeChatPayType

from paychannels import open_channel
from paychannels.channels.mobile import MobilePayChannel
from paychannels.providers.wechatpay.signing import authorization
from paychannels.security.verification import (
    Headers,
    SignatureProbe,
    StaleTimestamp,
    VerificationError,
)
from paychannels.simulators.provider import ProviderSimulator, SimKeys
from tests.peers.wechatsdk import wechat_sdk


def sdk(keys: SimKeys, sim: ProviderSimulator, cert_dir: Path, *, public_key: bool) -> WeChatPay:
    """The SDK for Native payments, callbacks to a closed port (the tests read them directly)."""
    return wechat_sdk(
        keys,
        sim,
        cert_dir,
        pay_type=WeChatPayType.NATIVE,
        public_key=public_key,
        notify_url="http://127.0.0.1:9/notify",
    )


def ours(keys: SimKeys, sim: ProviderSimulator) -> MobilePayChannel:
    url = f"wechatpay+{sim.url}?mchid={keys.mchid}&appid={keys.appid}"
    ch = open_channel(url, notify_url="http://127.0.0.1:9/notify", **keys.wechat_options())
    assert isinstance(ch, MobilePayChannel)
    return ch


def paid_order(wx: WeChatPay, sim: ProviderSimulator, total: int = 38000) -> str:
    number = "pay_" + secrets.token_hex(12).upper()
    code, text = wx.pay(
        description="城乡居民养老保险 2026", out_trade_no=number, amount={"total": total}
    )
    assert code == 200 and json.loads(text)["code_url"].startswith("weixin://")
    sim.pay("wechatpay", number)
    return number


def callback(sim: ProviderSimulator, number: str, variant: str = "genuine"):
    return sim.notification("wechatpay", number).render(0, variant)


@pytest.mark.slow
def test_simulator_callbacks_verify_with_the_sdk(
    keys: SimKeys, sim: ProviderSimulator, cert_dir: Path
) -> None:
    wx = sdk(keys, sim, cert_dir, public_key=sim.key_mode == "public_key")
    number = paid_order(wx, sim)
    body, headers = callback(sim, number)
    result = wx.callback(headers, body)
    assert result is not None, "wechatpayv3 refused a genuine simulator callback"
    assert result["event_type"] == "TRANSACTION.SUCCESS"
    assert result["resource"]["out_trade_no"] == number
    assert result["resource"]["amount"]["total"] == 38000
    expected_serial = keys.pubkey_id if sim.key_mode == "public_key" else keys.platform_serial
    assert headers["Wechatpay-Serial"] == expected_serial


def test_sdk_uses_the_simulator_as_its_gateway(
    keys: SimKeys, sim: ProviderSimulator, cert_dir: Path
) -> None:
    wx = sdk(keys, sim, cert_dir, public_key=sim.key_mode == "public_key")
    number = "pay_" + secrets.token_hex(12).upper()
    code, _ = wx.pay(description="社保缴费", out_trade_no=number, amount={"total": 100})
    assert code == 200
    code, text = wx.query(out_trade_no=number)
    assert code == 200 and json.loads(text)["trade_state"] == "NOTPAY"
    assert wx.close(out_trade_no=number)[0] == 204
    assert json.loads(wx.query(out_trade_no=number)[1])["trade_state"] == "CLOSED"
    paid = paid_order(wx, sim, total=5000)
    refund_no = "rfd_" + secrets.token_hex(12).upper()
    amount = {"refund": 2000, "total": 5000, "currency": "CNY"}
    code, text = wx.refund(out_refund_no=refund_no, amount=amount, out_trade_no=paid)
    assert code == 200 and json.loads(text)["status"] == "SUCCESS"
    code, text = wx.query_refund(out_refund_no=refund_no)
    assert code == 200 and json.loads(text)["amount"]["refund"] == 2000
    assert sim.refunded_minor(paid) == 2000


def _sdk_accepts(wx: WeChatPay, headers: dict[str, str], body: bytes) -> bool:
    return wx.callback(headers, body) is not None


def _we_accept(ch: MobilePayChannel, headers: dict[str, str], body: bytes) -> Exception | None:
    reading = ch.codec.read_callback(Headers(headers), body)
    return reading.error


@pytest.mark.slow
def test_verifiers_agree(keys: SimKeys, sim: ProviderSimulator, cert_dir: Path) -> None:
    wx = sdk(keys, sim, cert_dir, public_key=True)
    ch = ours(keys, sim)
    number = paid_order(wx, sim)
    body, headers = callback(sim, number)
    # valid: both accept
    assert _sdk_accepts(wx, headers, body) and _we_accept(ch, headers, body) is None
    # tampered body: both refuse
    tampered = body.replace(b'"TRANSACTION.SUCCESS"', b'"TRANSACTION.SUCCEED"')
    assert tampered != body
    assert not _sdk_accepts(wx, headers, tampered)
    assert isinstance(_we_accept(ch, headers, tampered), VerificationError)
    # re-serialised (same JSON, other bytes): both refuse, signatures cover the raw body
    reserialised = json.dumps(json.loads(body), ensure_ascii=True, indent=1).encode()
    assert not _sdk_accepts(wx, headers, reserialised)
    assert isinstance(_we_accept(ch, headers, reserialised), VerificationError)
    # forged (signed with a key WeChat Pay does not hold): both refuse
    forged_body, forged = callback(sim, number, "forged")
    assert not _sdk_accepts(wx, forged, forged_body)
    assert isinstance(_we_accept(ch, forged, forged_body), VerificationError)
    # probe: both refuse, neither crashes
    probe_body, probe = callback(sim, number, "probe")
    assert not _sdk_accepts(wx, probe, probe_body)
    assert isinstance(_we_accept(ch, probe, probe_body), SignatureProbe)
    # stale (a correctly signed callback from an hour ago): the SDK has no window, we do
    stale_body, stale = callback(sim, number, "stale")
    assert _sdk_accepts(wx, stale, stale_body), "wechatpayv3 accepts old callbacks"
    assert isinstance(_we_accept(ch, stale, stale_body), StaleTimestamp)
    ch.close()


def test_authorization_is_byte_identical_to_the_sdk(
    keys: SimKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    frozen = 1767000000
    monkeypatch.setattr(wechatpayv3.utils.time, "time", lambda: frozen)
    body = json.dumps({"mchid": keys.mchid, "out_trade_no": "pay_X", "amount": {"total": 1}})
    path = "/v3/pay/transactions/native"
    theirs = wechatpayv3.utils.build_authorization(
        path, "POST", keys.mchid, keys.merchant_serial, keys.merchant_key,
        data=body, nonce_str="NONCE123",
    )  # fmt: skip
    mine = authorization(
        keys.merchant_key,
        mchid=keys.mchid,
        serial_no=keys.merchant_serial,
        method="POST",
        path=path,
        body=body.encode(),
        timestamp=str(frozen),
        nonce="NONCE123",
    )
    assert mine == theirs
    assert time.time() == frozen
