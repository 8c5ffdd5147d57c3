"""Alipay open platform (v1 gateway, RSA2): calls, exact-text answers, async notifications."""

from __future__ import annotations

from paychannels.providers.alipay.codec import AlipayCodec
from paychannels.providers.alipay.config import AlipayConfig

__all__ = ["AlipayCodec", "AlipayConfig"]
