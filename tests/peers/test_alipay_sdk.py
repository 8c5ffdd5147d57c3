"""python-alipay-sdk as a peer: it accepts our simulator, and agrees with our verifier.

- Our simulator's async notifications verify with ``AliPay.verify`` (which wants a plain
  dict of decoded values with ``sign`` popped; ``parse_qs`` lists break it, fzlee/alipay #55).
- The SDK uses the simulator as its gateway (precreate, query, close, refund, refund query)
  and verifies every answer over the exact response text.
- Our notify verifier and the SDK agree on valid, tampered, re-encoded, forged and probe
  notifications. Alipay signs decoded values, so a re-encoded form still verifies for both.
- Our request signature is byte-identical to ``AliPay.sign_data`` for the same parameters.
"""

from __future__ import annotations

import secrets
from urllib.parse import parse_qsl, quote

import pytest
from alipay import AliPay

from paychannels import open_channel
from paychannels.channels.mobile import MobilePayChannel
from paychannels.providers.alipay import signing
from paychannels.security.verification import Headers, MalformedCallback, VerificationError
from paychannels.simulators.provider import ProviderSimulator, SimKeys


def sdk(keys: SimKeys, sim: ProviderSimulator) -> AliPay:
    opts = keys.alipay_options()
    client = AliPay(
        appid=keys.alipay_app_id,
        app_notify_url="http://127.0.0.1:9/notify",
        app_private_key_string=opts["app_private_key"],
        alipay_public_key_string=opts["alipay_public_key"],
        sign_type="RSA2",
    )
    client._gateway = sim.alipay_gateway
    return client


def ours(keys: SimKeys, sim: ProviderSimulator) -> MobilePayChannel:
    url = f"alipay+{sim.alipay_gateway}?app_id={keys.alipay_app_id}"
    ch = open_channel(url, notify_url="http://127.0.0.1:9/notify", **keys.alipay_options())
    assert isinstance(ch, MobilePayChannel)
    return ch


def paid_trade(client: AliPay, sim: ProviderSimulator, amount: str = "380.00") -> str:
    number = "pay_" + secrets.token_hex(12).upper()
    result = client.api_alipay_trade_precreate(
        subject="城乡居民养老保险 2026", out_trade_no=number, total_amount=amount
    )
    assert result["code"] == "10000" and result["qr_code"].startswith("https://")
    sim.pay("alipay", number)
    return number


def sdk_verifies(client: AliPay, body: bytes) -> bool:
    data = dict(parse_qsl(body.decode("ascii"), keep_blank_values=True))
    signature = data.pop("sign")
    try:
        return client.verify(data, signature)
    except (ValueError, TypeError):
        return False


def our_error(ch: MobilePayChannel, body: bytes) -> Exception | None:
    return ch.codec.read_callback(Headers({}), body).error


@pytest.mark.slow
def test_simulator_notifications_verify_with_the_sdk(keys: SimKeys, sim: ProviderSimulator) -> None:
    client = sdk(keys, sim)
    number = paid_trade(client, sim)
    body, _ = sim.notification("alipay", number).render(0, "genuine")
    assert sdk_verifies(client, body)
    fields = dict(parse_qsl(body.decode()))
    assert fields["trade_status"] == "TRADE_SUCCESS" and fields["total_amount"] == "380.00"


@pytest.mark.slow
def test_sdk_uses_the_simulator_as_its_gateway(keys: SimKeys, sim: ProviderSimulator) -> None:
    client = sdk(keys, sim)
    number = "pay_" + secrets.token_hex(12).upper()
    result = client.api_alipay_trade_precreate(
        subject="社保缴费", out_trade_no=number, total_amount="1.00"
    )
    assert result["code"] == "10000"
    # before the payer scans, Alipay knows no trade (not an error: not paid yet)
    assert client.api_alipay_trade_query(out_trade_no=number)["sub_code"] == "ACQ.TRADE_NOT_EXIST"
    sim.open("alipay", number)
    assert client.api_alipay_trade_query(out_trade_no=number)["trade_status"] == "WAIT_BUYER_PAY"
    assert client.api_alipay_trade_close(out_trade_no=number)["code"] == "10000"
    assert client.api_alipay_trade_query(out_trade_no=number)["trade_status"] == "TRADE_CLOSED"
    paid = paid_trade(client, sim, "50.00")
    refund = client.api_alipay_trade_refund(
        refund_amount="20.00", out_trade_no=paid, out_request_no="rfd_ONE"
    )
    assert refund["code"] == "10000" and refund["fund_change"] == "Y"
    again = client.api_alipay_trade_refund(
        refund_amount="20.00", out_trade_no=paid, out_request_no="rfd_ONE"
    )
    assert again["fund_change"] == "N", "a repeated out_request_no refunds nothing more"
    query = client.api_alipay_trade_fastpay_refund_query("rfd_ONE", out_trade_no=paid)
    assert query["refund_status"] == "REFUND_SUCCESS" and query["refund_amount"] == "20.00"
    assert sim.refunded_minor(paid) == 2000


@pytest.mark.slow
def test_verifiers_agree(keys: SimKeys, sim: ProviderSimulator) -> None:
    client = sdk(keys, sim)
    ch = ours(keys, sim)
    number = paid_trade(client, sim)
    body, _ = sim.notification("alipay", number).render(0, "genuine")
    # valid: both accept
    assert sdk_verifies(client, body) and our_error(ch, body) is None
    # tampered amount: both refuse
    tampered = body.replace(b"total_amount=380.00", b"total_amount=3.80")
    assert tampered != body
    assert not sdk_verifies(client, tampered)
    assert isinstance(our_error(ch, tampered), VerificationError)
    # re-encoded (percent-encode every character): values are the same, both accept
    fields = parse_qsl(body.decode(), keep_blank_values=True)
    reencoded = "&".join(f"{k}={quote(v, safe='')}" for k, v in reversed(fields)).encode()
    assert reencoded != body
    assert sdk_verifies(client, reencoded) and our_error(ch, reencoded) is None
    # forged (signed with a key Alipay does not hold): both refuse
    forged, _ = sim.notification("alipay", number).render(0, "forged")
    assert not sdk_verifies(client, forged)
    assert isinstance(our_error(ch, forged), VerificationError)
    # probe (garbage signature): both refuse, neither crashes; ours calls it malformed (no
    # signature at all: not even worth asking the provider about)
    probe, _ = sim.notification("alipay", number).render(0, "probe")
    assert not sdk_verifies(client, probe)
    assert isinstance(our_error(ch, probe), MalformedCallback)
    # a repeated key: the SDK (through parse_qsl) silently keeps one value, we refuse
    doubled = body + b"&total_amount=1.00"
    assert isinstance(our_error(ch, doubled), MalformedCallback)
    ch.close()


def test_request_signature_is_byte_identical_to_the_sdk(keys: SimKeys) -> None:
    client = AliPay(
        appid=keys.alipay_app_id,
        app_notify_url=None,
        app_private_key_string=str(keys.alipay_options()["app_private_key"]),
        alipay_public_key_string=str(keys.alipay_options()["alipay_public_key"]),
    )
    params = {
        "app_id": keys.alipay_app_id,
        "method": "alipay.trade.query",
        "charset": "utf-8",
        "sign_type": "RSA2",
        "timestamp": "2026-01-05 09:00:00",
        "version": "1.0",
        "biz_content": '{"out_trade_no":"pay_X"}',
    }
    signed = dict(parse_qsl(client.sign_data(dict(params))))
    mine = signing.sign(keys.app_key, signing.request_content(params))
    assert mine == signed["sign"]
