"""The public wechatpayv3 SDK set up against our provider simulator, for the peer tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wechatpayv3 import WeChatPay, WeChatPayType

from paychannels.simulators.provider import ProviderSimulator, SimKeys


def wechat_sdk(
    keys: SimKeys,
    sim: ProviderSimulator,
    cert_dir: Path,
    *,
    pay_type: WeChatPayType,
    public_key: bool,
    **options: Any,
) -> WeChatPay:
    """The SDK configured for the simulator's merchant, gateway pointed at the simulator;
    ``public_key``: it verifies with WeChat's public key instead of platform certificates."""
    opts = keys.wechat_options()
    extra: dict[str, Any] = dict(options)
    if public_key:
        extra.update(public_key=opts["public_key"], public_key_id=keys.pubkey_id)
    wx = WeChatPay(
        wechatpay_type=pay_type,
        mchid=keys.mchid,
        private_key=opts["private_key"],
        cert_serial_no=keys.merchant_serial,
        appid=keys.appid,
        apiv3_key=keys.apiv3_key,
        cert_dir=str(cert_dir),
        **extra,
    )
    wx._core._gate_way = sim.url  # the SDK hard-codes api.mch.weixin.qq.com
    return wx
