"""``paychannels.toml`` read and checked: a good file, each kind of mistake by line and key,
secrets by environment variable and by file, their permissions, and no secret in any repr."""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path

import pytest

from paychannels.config import (
    ConfigFileError,
    ConfigSyntaxError,
    ConfigValueError,
    Deployment,
    SecretFileExposed,
    SecretUnavailable,
    load_config,
    parse_config,
)
from paychannels.values.errors import ConfigurationError

GOOD = """\
# a county
[journal]
url = "sqlite:///journal.db"
create = true

[county]
zone = "Asia/Urumqi"

[channels.hall-1]
url = "zvt+tcp://10.1.2.3:20007?t3=5"
password = { env = "T_HALL_PW" }
transcript = "/var/log/hall-1.txt"
end_of_day_at = ["21:30", 23:00:00]

[channels.wx]
url = "wechatpay+https://api.mch.weixin.qq.com?mchid=1900000109&appid=wx8888888888888888"
apiv3_key = { file = "secrets/apiv3.txt" }
platform_certificates = ["a.pem", "b.pem"]
bills_at = "10:00"

[callbacks]
listen = "0.0.0.0:8443"
prefix = "/callbacks"
workers = 4

[janitor]
interval = "5m"
"""

PASSWORD = "246813"
APIV3 = "0123456789abcdefAPIv3-key-value"


def write(folder: Path, text: str, mode: int = 0o600) -> Path:
    path = folder / "paychannels.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def secret_file(folder: Path, value: str = APIV3, mode: int = 0o600) -> Path:
    path = folder / "secrets" / "apiv3.txt"
    path.parent.mkdir(exist_ok=True)
    path.write_text(value + "\n", encoding="utf-8")
    path.chmod(mode)
    return path


@pytest.fixture
def good(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Deployment:
    monkeypatch.setenv("T_HALL_PW", PASSWORD)
    secret_file(tmp_path)
    return load_config(write(tmp_path, GOOD, 0o644))


def test_a_good_file_gives_every_setting(good: Deployment, tmp_path: Path) -> None:
    assert good.journal is not None and good.journal.reveal() == "sqlite:///journal.db"
    assert good.journal.create is True
    assert good.zone == "Asia/Urumqi" and good.county().zone_name == "Asia/Urumqi"
    hall = good.channels["hall-1"]
    assert hall.url == "zvt+tcp://10.1.2.3:20007?t3=5"
    assert hall.open_options() == {"password": PASSWORD, "transcript": "/var/log/hall-1.txt"}
    wx = good.channels["wx"].open_options()
    assert wx == {"apiv3_key": APIV3, "platform_certificates": ["a.pem", "b.pem"]}
    assert (good.callbacks.host, good.callbacks.port) == ("0.0.0.0", 8443)
    assert (good.callbacks.prefix, good.callbacks.workers, good.callbacks.listen) == (
        "/callbacks",
        4,
        "0.0.0.0:8443",
    )
    janitor = good.janitor
    assert janitor.interval == timedelta(minutes=5) and janitor.zone == "Asia/Urumqi"
    assert [(d.kind, d.at) for d in janitor.for_channel("hall-1")] == [
        ("end_of_day", time(21, 30)),
        ("end_of_day", time(23, 0)),
    ]
    assert [(d.kind, d.at) for d in janitor.for_channel("wx")] == [("bills", time(10, 0))]


def test_defaults_of_an_empty_file() -> None:
    empty = parse_config("")
    assert empty.journal is None and empty.channels == {}
    assert empty.zone == "Asia/Shanghai"
    assert empty.callbacks.listen == "127.0.0.1:8080" and empty.callbacks.workers == 1
    assert empty.janitor.interval == timedelta(seconds=60)
    with pytest.raises(ConfigValueError, match=r"journal\.url: is required"):
        empty.journal_settings()


# (text, error type, "line N, key" the message must name)
MISTAKES = [
    (
        '[journal]\nurl = "sqlite:///j.db"\ncreat = true\n',
        ConfigValueError,
        "line 3, journal.creat",
    ),
    ("[journal]\ncreate = true\n", ConfigValueError, "line 1, journal.url"),
    ('[journal]\nurl = "j.db"\n', ConfigValueError, "line 2, journal.url"),
    ("[journal]\nurl = 5\n", ConfigValueError, "line 2, journal.url"),
    (
        '[journal]\nurl = "sqlite:///j"\ncreate = "yes"\n',
        ConfigValueError,
        "line 3, journal.create",
    ),
    ('\n\n[county]\nzone = "Mars/Olympus"\n', ConfigValueError, "line 4, county.zone"),
    ('[colony]\nzone = "x"\n', ConfigValueError, "line 1, colony"),
    ("[channels.a]\nport = 1\n", ConfigValueError, "line 1, channels.a.url"),
    ('[channels.a]\nurl = "nothing"\n', ConfigValueError, "line 2, channels.a.url"),
    (
        '[channels.a]\nurl = "zvt+tcp://h:1?password=123456"\n',
        ConfigValueError,
        "line 2, channels.a.url",
    ),
    ('[channels."a b"]\nurl = "zvt+tcp://h:1"\n', ConfigValueError, "line 1, channels.a b"),
    ('[channels]\na = "zvt+tcp://h:1"\n', ConfigValueError, "line 2, channels.a"),
    (
        '[channels.a]\nurl = "zvt+tcp://h:1"\nbills_at = "10:00"\n',
        ConfigValueError,
        "line 3, channels.a.bills_at",
    ),
    (
        '[channels.a]\nurl = "alipay+https://x?app_id=20210000"\nbills_at = "25:00"\n',
        ConfigValueError,
        "line 3, channels.a.bills_at",
    ),
    (
        '[channels.a]\nurl = "alipay+https://x?app_id=20210000"\nbills_at = ["10:00", "x"]\n',
        ConfigValueError,
        "line 3, channels.a.bills_at.1",
    ),
    (
        '[channels.a]\nurl = "zvt+tcp://h:1"\ntranscript = 2026-01-01\n',
        ConfigValueError,
        "line 3, channels.a.transcript",
    ),
    (
        '[channels.a]\nurl = "zvt+tcp://h:1"\npassword = { env = "T_NOT_SET_ANYWHERE" }\n',
        SecretUnavailable,
        "line 3, channels.a.password",
    ),
    (
        '[channels.a]\nurl = "zvt+tcp://h:1"\npassword = { env = "" }\n',
        SecretUnavailable,
        "line 3, channels.a.password",
    ),
    (
        '[channels.a]\nurl = "zvt+tcp://h:1"\npassword = { file = "no/such/file" }\n',
        SecretUnavailable,
        "line 3, channels.a.password",
    ),
    ('[callbacks]\nlisten = "8080"\n', ConfigValueError, "line 2, callbacks.listen"),
    ('[callbacks]\nlisten = "h:70000"\n', ConfigValueError, "line 2, callbacks.listen"),
    ('[callbacks]\nprefix = "callbacks"\n', ConfigValueError, "line 2, callbacks.prefix"),
    ("[callbacks]\nworkers = 0\n", ConfigValueError, "line 2, callbacks.workers"),
    ("[callbacks]\nworkers = 2.0\n", ConfigValueError, "line 2, callbacks.workers"),
    ('[janitor]\ninterval = "soon"\n', ConfigValueError, "line 2, janitor.interval"),
    ('[janitor]\ninterval = "0s"\n', ConfigValueError, "line 2, janitor.interval"),
    ('[janitor]\ninterval = "48h"\n', ConfigValueError, "line 2, janitor.interval"),
    ("[janitor]\n\ninterval = [1]\n", ConfigValueError, "line 3, janitor.interval"),
    ('[journal]\nurl = "sqlite:///j"\n[journal]\n', ConfigSyntaxError, "line 3"),
    ("a = \n", ConfigSyntaxError, "line 1"),
]


@pytest.mark.parametrize(("text", "kind", "where"), MISTAKES)
def test_each_mistake_names_its_file_line_and_key(
    text: str, kind: type[ConfigFileError], where: str, tmp_path: Path
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(kind) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path} {where}"), message
    assert isinstance(caught.value, ConfigurationError)
    assert caught.value.file == str(path)


def test_a_missing_file_and_one_not_text(tmp_path: Path) -> None:
    with pytest.raises(ConfigSyntaxError, match="cannot read"):
        load_config(tmp_path / "absent.toml")
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigSyntaxError, match="not UTF-8"):
        load_config(tmp_path / "bin.toml")


def test_a_secret_file_readable_by_everyone_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("T_HALL_PW", PASSWORD)
    secret = secret_file(tmp_path, mode=0o644)
    with pytest.raises(SecretFileExposed) as caught:
        load_config(write(tmp_path, GOOD))
    assert "line 17, channels.wx.apiv3_key" in str(caught.value)
    assert "readable by everyone (mode 0644)" in str(caught.value)
    secret.chmod(0o640)  # group-readable: a service group may read it
    assert load_config(write(tmp_path, GOOD)).channels["wx"].open_options()["apiv3_key"] == APIV3


def test_a_public_key_file_may_be_readable_by_everyone(tmp_path: Path) -> None:
    pem = tmp_path / "pub.pem"
    pem.write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    pem.chmod(0o644)
    text = '[channels.wx]\nurl = "wechatpay+https://x"\npublic_key = { file = "pub.pem" }\n'
    loaded = load_config(write(tmp_path, text)).channels["wx"].open_options()
    assert loaded["public_key"].startswith("-----BEGIN PUBLIC KEY-----")


def test_an_inline_secret_needs_a_file_only_its_owner_reads(tmp_path: Path) -> None:
    text = '[channels.a]\nurl = "zvt+tcp://h:1"\npassword = "246813"\n'
    with pytest.raises(SecretFileExposed, match=r"line 3, channels\.a\.password: a secret written"):
        load_config(write(tmp_path, text, 0o644))
    assert load_config(write(tmp_path, text, 0o600)).channels["a"].open_options() == {
        "password": "246813"
    }
    pg = '[journal]\nurl = "postgresql://app:hunter2pass@db/pay"\n'
    with pytest.raises(SecretFileExposed, match=r"line 2, journal\.url"):
        load_config(write(tmp_path, pg, 0o644))
    assert "hunter2pass" not in repr(load_config(write(tmp_path, pg, 0o600)))


def test_the_journal_url_by_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_JOURNAL", "postgresql://app:s3cretpw@db/pay")
    loaded = load_config(write(tmp_path, '[journal]\nurl = { env = "T_JOURNAL" }\n', 0o644))
    assert loaded.journal_settings().reveal() == "postgresql://app:s3cretpw@db/pay"
    assert "s3cretpw" not in repr(loaded) and "T_JOURNAL" in repr(loaded)


def test_no_secret_value_in_repr_str_or_errors(
    good: Deployment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for shown in (repr(good), str(good), repr(good.channels), repr(good.janitor)):
        assert PASSWORD not in shown and APIV3 not in shown
    assert "Secret(env T_HALL_PW)" in repr(good) and "apiv3.txt" in repr(good)
    # a wrong value is never quoted back, even when its key is misspelt beside it
    monkeypatch.setenv("T_HALL_PW", PASSWORD)
    bad = GOOD.replace("create = true", f'create = "{APIV3}"')
    with pytest.raises(ConfigValueError) as caught:
        load_config(write(tmp_path, bad))
    assert APIV3 not in str(caught.value)


def test_a_password_in_the_journal_urls_query_is_a_secret_too(tmp_path: Path) -> None:
    pg = '[journal]\nurl = "postgresql://db/pay?sslmode=require&password=hunter2pass"\n'
    with pytest.raises(SecretFileExposed, match=r"line 2, journal\.url"):
        load_config(write(tmp_path, pg, 0o644))
    loaded = load_config(write(tmp_path, pg, 0o600))
    assert "hunter2pass" not in repr(loaded) and "hunter2pass" in loaded.journal_settings().reveal()
