"""``paychannels lookup``: the number and name from standard input, the answer in both
languages (or JSON), exit 1 for no match, 2 for a number that cannot be one (masked); and
the index a web server loads, written with the configured key."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from paychannels.cli.main import main
from paychannels.security.payerkey import KEY_VARIABLE
from tests.lookup.day import lookup_day, payer

HEX_KEY = bytes(range(32)).hex()


def _run(
    args: list[str], typed: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(typed))
    code = main(["lookup", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_payer_checked_at_the_hall_desk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    day = lookup_day(tmp_path, f"sqlite:///{tmp_path}/j.db")
    inputs = ["--roster", str(day.roster), "--db", day.journal.url]
    code, out, _err = _run(inputs, f"{payer(1)}\n张小三\n", monkeypatch, capsys)
    assert code == 0
    assert payer(1)[:6] + "********" + payer(1)[-4:] in out and "张*三" in out
    assert "已缴费 / ᠲᠥᠯᠥᠭᠰᠡᠨ" in out and "未缴费" in out and "2026-03-02 09:01:00 +0800" in out
    assert "微信支付" in out and payer(1) not in out and "张小三" not in out
    code, out, _err = _run([*inputs, "--json"], f"{payer(3)}\n王五\n", monkeypatch, capsys)
    assert code == 0 and json.loads(out)["obligations"][0]["state"] == "refunded"
    code, out, _err = _run(inputs, f"{payer(1)}\n张小四\n", monkeypatch, capsys)
    assert code == 1 and "未查到" in out
    typo = payer(1)[:17] + ("0" if payer(1)[17] != "0" else "1")
    code, out, err = _run(inputs, f"{typo}\n张小三\n", monkeypatch, capsys)
    assert code == 2 and "check_digit" in err and typo not in out + err
    code, _out, err = _run(inputs, "", monkeypatch, capsys)
    assert code == 2 and "standard input" in err


def test_the_index_for_a_web_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    day = lookup_day(tmp_path, f"sqlite:///{tmp_path}/j.db")
    out_file = tmp_path / "lookup.idx"
    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    code, _out, err = _run(
        ["--roster", str(day.roster), "--write-index", str(out_file)], "", monkeypatch, capsys
    )
    assert code == 2 and KEY_VARIABLE in err and not out_file.exists()
    monkeypatch.setenv(KEY_VARIABLE, HEX_KEY)
    code, out, _err = _run(
        ["--roster", str(day.roster), "--write-index", str(out_file)], "", monkeypatch, capsys
    )
    assert code == 0 and "4 payers" in out and payer(1) not in out_file.read_text("utf-8")
    inputs = ["--index", str(out_file), "--db", day.journal.url, "--json"]
    code, out, _err = _run(inputs, f"{payer(1)}\n张小三\n", monkeypatch, capsys)
    assert code == 0 and json.loads(out)["found"]
    monkeypatch.setenv(KEY_VARIABLE, "ab" * 32)
    code, _out, err = _run(inputs, f"{payer(1)}\n张小三\n", monkeypatch, capsys)
    assert code == 2 and "made with the key" in err


class Unreadable(io.StringIO):
    def readline(self, size: int | None = -1) -> str:
        raise OSError("reading from stdin while output is captured")


def test_standard_input_that_cannot_be_read_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    day = lookup_day(tmp_path, f"sqlite:///{tmp_path}/j.db")
    monkeypatch.setattr("sys.stdin", Unreadable())
    code = main(["lookup", "--roster", str(day.roster), "--db", day.journal.url])
    assert code == 2 and "standard input" in capsys.readouterr().err
