"""Every file a person writes, mistyped on purpose: the error is typed and names file, line, key.

One hostile file per kind and mistake — an unknown (mistyped) key, a value of the wrong type, a
float where an integer is meant, a missing key — for MIS-POS profiles, bank layouts, the
creditor, calendars and the provider config files. A mistake must never pass silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from paychannels.bankfiles.calendar import load_calendar
from paychannels.bankfiles.layout import load_layout
from paychannels.channels.bank import load_creditor
from paychannels.drivers.mispos.errors import ProfileError
from paychannels.drivers.mispos.profile import profile_file
from paychannels.drivers.mispos.profile_checks import load as load_profile
from paychannels.providers.alipay import AlipayConfig
from paychannels.providers.wechatpay import WechatPayConfig
from paychannels.values.errors import ConfigurationError
from paychannels.values.urls import parse_url
from tests.contract.harnesses.mobile import sim_keys

LAYOUT = (Path(load_layout.__code__.co_filename).parent / "layouts" / "icbc-fixed.toml").read_text(
    "utf-8"
)
PROFILE = profile_file("tlv-9f").read_text("utf-8")
CALENDAR = (
    'name = "bank"\n\n[year.2027]\n'
    'holidays = ["2027-01-01..2027-01-03"]\nworkdays = ["2027-01-09"]\n'
)
CREDITOR = (
    "[creditor]\n"
    'name = "Gacha Water Office"\n'
    'account = "6222020200112233445"\n'
    'bank = "102100099996"\n'
    'scheme_id = "CN00ZZZ123456"\n'
)
KEYS = sim_keys()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def names_file_line_key(error: Exception, path: Path, line: int, key: str) -> None:
    message = str(error)
    assert f"{path}:{line}:" in message, message
    assert re.search(rf"\b{re.escape(key)}\b", message), message


def refused(load: Callable[[Path], object], path: Path, kind: type[Exception]) -> Exception:
    with pytest.raises(kind) as info:
        load(path)
    assert type(info.value) is kind or issubclass(type(info.value), kind)
    return info.value


# -- MIS-POS profiles --------------------------------------------------------------------

PROFILE_CASES = {
    "unknown key": (("resends = 3", "resends = 3\nresnds = 2"), "resnds", "frame.resnds"),
    "wrong type": (("baudrate = 9600", 'baudrate = "fast"'), "baudrate", "line.baudrate"),
    "float integer": (("resends = 3", "resends = 3.0"), "resends", "frame.resends"),
    "text not text": (('"25" = "找不到', '"25" = 25 # "找不到'), '"25" = 25', "result.texts.25"),
    "missing key": (('code = "03"\n', ""), "[verbs.void]", "verbs.void.code"),
}


@pytest.mark.parametrize("case", PROFILE_CASES)
def test_profile_mistakes_name_file_line_key(tmp_path: Path, case: str) -> None:
    (old, new), needle, key = PROFILE_CASES[case]
    assert old in PROFILE
    text = PROFILE.replace(old, new, 1)
    path = write(tmp_path, "bank.toml", text)
    error = refused(lambda p: load_profile(str(p)), path, ProfileError)
    names_file_line_key(error, path, line_of(text, needle), key)


# -- bank layouts ------------------------------------------------------------------------

NAME_FIELD = '{ name = "姓名", source = "name", width = 40 }'
LAYOUT_CASES = {
    "unknown key": (
        ('amount_unit = "fen"', 'amount_units = "yuan"'),
        "amount_units",
        "amount_units",
    ),
    "unknown field key": (
        (NAME_FIELD, NAME_FIELD.replace("width", "widht")),
        "widht",
        "request.detail.2.widht",
    ),
    "wrong type": (
        ("[request]", '[request]\nleading_blank_line = "no"'),
        "leading_blank_line",
        "request.leading_blank_line",
    ),
    "float integer": (
        ("rows_per_file = 50000", "rows_per_file = 50000.5"),
        "rows_per_file",
        "rows_per_file",
    ),
    "float width": (
        (NAME_FIELD, NAME_FIELD.replace("40", "40.0")),
        "width = 40.0",
        "request.detail.2.width",
    ),
    "missing key": (('kind = "fixed"\n', ""), 'name = "icbc-fixed"', "kind"),
}


@pytest.mark.parametrize("case", LAYOUT_CASES)
def test_layout_mistakes_name_file_line_key(tmp_path: Path, case: str) -> None:
    (old, new), needle, key = LAYOUT_CASES[case]
    assert old in LAYOUT
    text = LAYOUT.replace(old, new, 1)
    path = write(tmp_path, "bank.toml", text)
    error = refused(load_layout, path, ConfigurationError)
    names_file_line_key(error, path, line_of(text, needle), key)


# -- the creditor ------------------------------------------------------------------------

CREDITOR_CASES = {
    "unknown key": (
        ('bank = "102100099996"', 'bank = "102100099996"\nmsgprefix = "KYQ"'),
        "msgprefix",
        "msgprefix",
    ),
    "wrong type": (
        ('account = "6222020200112233445"', "account = 6222020200112233445"),
        "account",
        "account",
    ),
    "float": (('bank = "102100099996"', "bank = 102100099996.0"), "bank", "bank"),
    "missing key": (('bank = "102100099996"\n', ""), "[creditor]", "bank"),
    "key outside the table": (
        ("[creditor]", 'msg_prefix = "KYQ"\n[creditor]'),
        "msg_prefix",
        "msg_prefix",
    ),
}


@pytest.mark.parametrize("case", CREDITOR_CASES)
def test_creditor_mistakes_name_file_line_key(tmp_path: Path, case: str) -> None:
    (old, new), needle, key = CREDITOR_CASES[case]
    text = CREDITOR.replace(old, new, 1)
    path = write(tmp_path, "CREDITOR.toml", text)
    error = refused(load_creditor, path, ConfigurationError)
    names_file_line_key(error, path, line_of(text, needle), key)


# -- calendars ---------------------------------------------------------------------------

CALENDAR_CASES = {
    "unknown key": (("workdays =", "workday ="), "workday", "year.2027.workday"),
    "unknown top key": (('name = "bank"', 'nmae = "bank"'), "nmae", "nmae"),
    "wrong type": (
        ('holidays = ["2027-01-01..2027-01-03"]', 'holidays = "2027-01-01"'),
        "holidays",
        "year.2027.holidays",
    ),
    "number date": (
        ('workdays = ["2027-01-09"]', "workdays = [20270109]"),
        "workdays",
        "year.2027.workdays.0",
    ),
    "not a year": (("[year.2027]", "[year.twenty]"), "[year.twenty]", "year.twenty"),
}


@pytest.mark.parametrize("case", CALENDAR_CASES)
def test_calendar_mistakes_name_file_line_key(tmp_path: Path, case: str) -> None:
    (old, new), needle, key = CALENDAR_CASES[case]
    text = CALENDAR.replace(old, new, 1)
    path = write(tmp_path, "holidays.toml", text)
    error = refused(load_calendar, path, ConfigurationError)
    names_file_line_key(error, path, line_of(text, needle), key)


# -- provider config files ---------------------------------------------------------------


def wechat_file(tmp_path: Path, change: tuple[str, str] | None = None) -> tuple[Path, str]:
    KEYS.write(tmp_path, base_url="https://api.mch.weixin.qq.com", notify_url="https://e.org/n")
    path = tmp_path / "wechatpay.toml"
    text = path.read_text("utf-8") + "timeout = 10\nexpire_minutes = 30\n"
    if change is not None:
        assert change[0] in text
        text = text.replace(*change, 1)
    path.write_text(text, encoding="utf-8")
    return path, text


def open_wechat(path: Path) -> object:
    url = f"wechatpay+https://api.mch.weixin.qq.com?mchid={KEYS.mchid}&appid={KEYS.appid}"
    return WechatPayConfig.from_url(parse_url(url), {"config": str(path)})


WECHAT_CASES = {
    "unknown key": (("timeout = 10", "timeuot = 10"), "timeuot", "timeuot"),
    "wrong type": (("timeout = 10", "timeout = true"), "timeout", "timeout"),
    "float integer": (
        ("expire_minutes = 30", "expire_minutes = 1.5"),
        "expire_minutes",
        "expire_minutes",
    ),
    "missing key": (("notify_url", "# notify_url"), "[wechatpay]", "notify_url"),
    "secret of wrong type": (("apiv3_key = ", "apiv3_key = 1 # "), "apiv3_key", "apiv3_key"),
}


@pytest.mark.parametrize("case", WECHAT_CASES)
def test_wechatpay_config_mistakes_name_file_line_key(tmp_path: Path, case: str) -> None:
    change, needle, key = WECHAT_CASES[case]
    path, text = wechat_file(tmp_path, change)
    error = refused(open_wechat, path, ConfigurationError)
    names_file_line_key(error, path, line_of(text, needle), key)
    assert KEYS.apiv3_key not in str(error)


def test_alipay_config_unknown_key_names_file_line_key(tmp_path: Path) -> None:
    KEYS.write(tmp_path, base_url="https://openapi.alipay.com", notify_url="https://e.org/n")
    path = tmp_path / "alipay.toml"
    text = path.read_text("utf-8").replace("seller_id", "seler_id")
    path.write_text(text, encoding="utf-8")
    url = f"alipay+https://openapi.alipay.com/gateway.do?app_id={KEYS.alipay_app_id}"
    with pytest.raises(ConfigurationError) as info:
        AlipayConfig.from_url(parse_url(url), {"config": str(path)})
    names_file_line_key(info.value, path, line_of(text, "seler_id"), "seler_id")


# -- the nexo cloud terminal's config file ----------------------------------------------

NEXO = '[nexo]\napi_key = "NexoApiKey-0123456789"\nnotify_secret = ["NexoNotify-0123456789"]\n'
NEXO_CASES = {
    "unknown key": (("api_key", "apikey"), "apikey", "apikey"),
    "float integer": (("[nexo]", "[nexo]\nattempts = 2.5"), "attempts", "attempts"),
    "wrong type": (("[nexo]", '[nexo]\ntimeout = "soon"'), "timeout", "timeout"),
}


@pytest.mark.parametrize("case", NEXO_CASES)
def test_nexo_config_mistakes_name_file_line_key(tmp_path: Path, case: str) -> None:
    from paychannels import open_channel

    (old, new), needle, key = NEXO_CASES[case]
    text = NEXO.replace(old, new, 1)
    path = write(tmp_path, "nexo.toml", text)
    error = refused(
        lambda p: open_channel("nexo+https://h.example/v1?poi=P1", config=str(p)),
        path,
        ConfigurationError,
    )
    names_file_line_key(error, path, line_of(text, needle), key)
    assert "0123456789" not in str(error)


def test_url_settings_are_text_read_as_their_type() -> None:
    base = f"wechatpay+https://api.mch.weixin.qq.com?mchid={KEYS.mchid}&appid={KEYS.appid}"
    options = {**KEYS.wechat_options(), "notify_url": "https://e.org/n"}
    url = f"{base}&trade_type=NATIVE&timeout=5&auto_certificates=no&expire_minutes=30"
    config = WechatPayConfig.from_url(parse_url(url), options)
    assert (config.trade_type, config.timeout, config.auto_certificates) == ("native", 5.0, False)
    assert config.expire.total_seconds() == 1800
    with pytest.raises(ConfigurationError, match=r"URL: expire_minutes must be a valid integer"):
        WechatPayConfig.from_url(parse_url(f"{base}&expire_minutes=1.5"), options)
