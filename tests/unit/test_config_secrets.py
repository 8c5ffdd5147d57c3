"""Secrets in settings never show: not in a model's repr or str, an error message, or a log.

The APIv3 key and the private keys are ``SecretStr``; a bad config file is refused with a
message naming the key and the line, never what was written there — a secret under a
mistyped key, a secret of the wrong type or length, or any other mistake in a file that
holds secrets.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from paychannels.providers.alipay import AlipayConfig
from paychannels.providers.alipay.config import AlipaySettings
from paychannels.providers.wechatpay import WechatPayConfig
from paychannels.providers.wechatpay.config import WechatPaySettings
from paychannels.values.errors import ConfigurationError
from paychannels.values.urls import parse_url
from tests.contract.harnesses.mobile import sim_keys

KEYS = sim_keys()
SECRET = "S3cr3tApiV3Key-0123456789abcdefg"  # 32 bytes, as an APIv3 key is
WECHAT_URL = f"wechatpay+https://api.mch.weixin.qq.com?mchid={KEYS.mchid}&appid={KEYS.appid}"
ALIPAY_URL = f"alipay+https://openapi.alipay.com/gateway.do?app_id={KEYS.alipay_app_id}"


def secrets_of(options: dict[str, object]) -> list[str]:
    pem = str(options.get("private_key") or options.get("app_private_key"))
    body = "".join(pem.splitlines()[1:-1])
    return [SECRET, body[:40], body[-40:]]


def wechat_text(tmp_path: Path) -> str:
    KEYS.write(tmp_path, base_url="https://api.mch.weixin.qq.com", notify_url="https://e.org/n")
    text = (tmp_path / "wechatpay.toml").read_text("utf-8")
    return text.replace(KEYS.apiv3_key, SECRET)


BAD_WECHAT_FILES = {
    "secret under a mistyped key": ("apiv3_key =", "apiv3_kee ="),
    "secret as a number": (f'apiv3_key = "{SECRET}"', "apiv3_key = 31415926535897932384626"),
    "secret too short": (f'apiv3_key = "{SECRET}"', f'apiv3_key = "{SECRET[:20]}"'),
    "secret as a table": (f'apiv3_key = "{SECRET}"', f'apiv3_key = {{ value = "{SECRET}" }}'),
    "a wrong timeout beside the secret": ("notify_url", "timeout = true\nnotify_url"),
    "an unknown key beside the secret": ("notify_url", f'api_secret = "{SECRET}"\nnotify_url'),
    "a missing key": ("notify_url", "# notify_url"),
    "not TOML": (f'apiv3_key = "{SECRET}"', f'apiv3_key = "{SECRET}'),
}


@pytest.mark.parametrize("case", BAD_WECHAT_FILES)
def test_no_error_for_a_bad_file_shows_a_secret(
    tmp_path: Path, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    old, new = BAD_WECHAT_FILES[case]
    text = wechat_text(tmp_path)
    assert old in text
    (tmp_path / "wechatpay.toml").write_text(text.replace(old, new, 1), encoding="utf-8")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ConfigurationError) as info:
        WechatPayConfig.from_url(
            parse_url(WECHAT_URL), {"config": str(tmp_path / "wechatpay.toml")}
        )
    shown = f"{info.value}\n{info.value!r}\n{info.value.args}\n{caplog.text}"
    for secret in (SECRET, SECRET[:20], "31415926535897932384626"):
        assert secret not in shown, case


def test_bad_options_never_show_the_private_key() -> None:
    options = {**KEYS.wechat_options(), "apiv3_key": SECRET, "notify_url": "https://e.org/n"}
    for bad in ({"timeout": "soon"}, {"apiv3_key": 12345}, {"window": -1}, {"mchid": "x"}):
        with pytest.raises(ConfigurationError) as info:
            WechatPayConfig.from_url(parse_url(WECHAT_URL), {**options, **bad})
        for secret in secrets_of(options):
            assert secret not in f"{info.value}{info.value!r}", bad
    alipay = KEYS.alipay_options()
    with pytest.raises(ConfigurationError) as info:
        AlipayConfig.from_url(parse_url(ALIPAY_URL), {**alipay, "expire_minutes": 2.5})
    for secret in secrets_of(alipay):
        assert secret not in str(info.value)


def test_settings_models_hide_their_secrets() -> None:
    options = {**KEYS.wechat_options(), "apiv3_key": SECRET}
    wechat = WechatPaySettings.model_validate(
        {**options, "mchid": KEYS.mchid, "appid": KEYS.appid, "notify_url": "https://e.org/n"}
    )
    alipay_options = KEYS.alipay_options()
    alipay = AlipaySettings.model_validate({**alipay_options, "app_id": KEYS.alipay_app_id})
    config = WechatPayConfig.from_url(
        parse_url(WECHAT_URL), {**options, "notify_url": "https://e.org/n"}
    )
    for shown, secrets in (
        (f"{wechat!r}{wechat}{wechat.model_dump()}", secrets_of(options)),
        (f"{alipay!r}{alipay}{alipay.model_dump()}", secrets_of(alipay_options)),
        (f"{config!r}{config}", secrets_of(options)),
    ):
        for secret in secrets:
            assert secret not in shown
    assert wechat.apiv3_key.get_secret_value() == SECRET  # kept, only hidden
