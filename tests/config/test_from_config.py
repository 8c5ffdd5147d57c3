"""``Collector.from_config``: the journal the file names (made only when it says so), every
channel added, a channel that fails named by its table; SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from paychannels import Collector, Money, PaymentRequest, Status
from paychannels.config import ChannelOpenError, ConfigValueError
from paychannels.values.errors import JournalUnavailable


def config(folder: Path, journal: str, *, create: bool, extra: str = "") -> Path:
    path = folder / "paychannels.toml"
    path.write_text(
        f'[journal]\nurl = "{journal}"\ncreate = {str(create).lower()}\n\n'
        f'[channels.desk]\nurl = "memory://{folder}/ledger.json?name=desk"\n'
        f'[channels.till]\nurl = "memory://?default=decline"\n{extra}',
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


def request(key: str) -> PaymentRequest:
    return PaymentRequest(
        payer_id=f"p-{key}", amount=Money("380.00", "CNY"), reference="2026", idempotency_key=key
    )


def test_opens_the_journal_and_adds_every_channel(journal_url: str, tmp_path: Path) -> None:
    with Collector.from_config(config(tmp_path, journal_url, create=True)) as col:
        assert sorted(col.channels) == ["desk", "till"]
        assert col.collect(request("k1"), "desk").status is Status.SUCCEEDED
        assert col.collect(request("k2"), "till").status is Status.DECLINED
    # the same file again: the same journal, now without create
    with Collector.from_config(config(tmp_path, journal_url, create=False)) as col:
        first = col.journal.get_by_key("k1")
        assert first is not None and first.status is Status.SUCCEEDED


def test_a_journal_is_made_only_when_the_file_asks(journal_url: str, tmp_path: Path) -> None:
    path = config(tmp_path, journal_url, create=False)
    with pytest.raises(JournalUnavailable, match="no journal"):
        Collector.from_config(path)
    with Collector.from_config(path, create=True) as col:  # the caller asks explicitly
        assert col.find() == []


def test_db_given_wins_over_the_file(tmp_path: Path) -> None:
    other = f"sqlite:///{tmp_path}/other.db"
    Collector.open(other, create=True).close()
    path = config(tmp_path, f"sqlite:///{tmp_path}/never.db", create=True)
    with Collector.from_config(path, db=other) as col:
        col.collect(request("k1"), "desk")
    assert not (tmp_path / "never.db").exists()
    with Collector.open(other) as col:
        assert len(col.find()) == 1


def test_a_channel_that_fails_to_open_names_its_table(tmp_path: Path) -> None:
    bad = '\n[channels.hall-1]\nurl = "zvt+tcp://127.0.0.1:1"\ncolour = "blue"\n'
    path = config(tmp_path, f"sqlite:///{tmp_path}/j.db", create=True, extra=bad)
    with pytest.raises(ChannelOpenError) as caught:
        Collector.from_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path} line 10, channels.hall-1: cannot open:"), message
    assert "colour" in message


def test_a_file_without_journal_names_what_is_missing(tmp_path: Path) -> None:
    path = tmp_path / "paychannels.toml"
    path.write_text('[county]\nzone = "Asia/Shanghai"\n', encoding="utf-8")
    with pytest.raises(ConfigValueError, match=r"paychannels\.toml, journal\.url: is required"):
        Collector.from_config(path)


def test_a_channel_refusing_a_secret_never_shows_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "not-a-pin-but-a-leaked-value"
    monkeypatch.setenv("T_ZVT_PW", secret)
    monkeypatch.setenv(
        "T_WX_KEY", f"-----BEGIN PRIVATE KEY-----\n{secret}\n-----END PRIVATE KEY-----"
    )
    for extra in (
        '[channels.hall-1]\nurl = "zvt+tcp://127.0.0.1:1"\npassword = { env = "T_ZVT_PW" }\n',
        '[channels.wx]\nurl = "wechatpay+https://api.mch.weixin.qq.com?mchid=1900000109'
        '&appid=wx8888888888888888"\nnotify_url = "https://x/cb"\nmerchant_serial = "AB12"\n'
        'private_key = { env = "T_WX_KEY" }\napiv3_key = { env = "T_ZVT_PW" }\n',
    ):
        path = config(tmp_path, f"sqlite:///{tmp_path}/j.db", create=True, extra="\n" + extra)
        with pytest.raises(ChannelOpenError) as caught:
            Collector.from_config(path)
        assert secret not in str(caught.value), caught.value
        assert "line 10, channels." in str(caught.value)
