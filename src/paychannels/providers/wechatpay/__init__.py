"""WeChat Pay API v3: signing, verification, resource decryption, calls and callbacks."""

from __future__ import annotations

from paychannels.providers.wechatpay.codec import WechatPayCodec
from paychannels.providers.wechatpay.config import WechatPayConfig
from paychannels.providers.wechatpay.keys import KeyStore
from paychannels.providers.wechatpay.resource import ResourceCipher

__all__ = ["KeyStore", "ResourceCipher", "WechatPayCodec", "WechatPayConfig"]
