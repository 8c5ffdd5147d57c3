"""Every ``paychannels`` command takes ``--config`` (and ``$PAYCHANNELS_CONFIG``); ``--db`` and
``$PAYCHANNELS_DB`` win over the file's journal, ``--zone`` over its zone. One real process."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from paychannels import Collector, Money, PaymentRequest
from paychannels.cli.configured import CONFIG_ENV, configure
from paychannels.cli.main import build_parser, main
from paychannels.config import CONFIG_ENV as LOADER_ENV
from tests.commands import paychannels

ROOT = Path(__file__).resolve().parents[2]


def journal_with(url: str, key: str) -> str:
    with Collector.open(url, create=True) as col:
        col.add_channel("desk", "memory://")
        col.collect(
            PaymentRequest(
                payer_id="p1", amount=Money("1.00", "CNY"), reference=key, idempotency_key=key
            ),
            "desk",
        )
    return url


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str, str]:
    monkeypatch.delenv("PAYCHANNELS_DB", raising=False)
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    in_file = journal_with(f"sqlite:///{tmp_path}/file.db", "from-file")
    other = journal_with(f"sqlite:///{tmp_path}/other.db", "from-other")
    path = tmp_path / "paychannels.toml"
    path.write_text(f'[journal]\nurl = "{in_file}"\n[county]\nzone = "Asia/Urumqi"\n')
    return path, in_file, other


def resolved(argv: list[str]) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    configure(args)
    return args


def test_the_file_gives_the_journal_and_the_zone(files: tuple[Path, str, str]) -> None:
    path, in_file, _ = files
    args = resolved(["notice", "--level", "county", "--roster", "r.csv", "--config", str(path)])
    assert args.default_db() == in_file and args.zone == "Asia/Urumqi"
    # --config may stand before the command too
    args = resolved(["--config", str(path), "journal", "list"])
    assert args.default_db() == in_file


def test_precedence_command_line_then_environment_then_file(
    files: tuple[Path, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, in_file, other = files
    argv = ["notice", "--level", "county", "--roster", "r.csv"]
    args = resolved([*argv, "--config", str(path), "--zone", "Asia/Tokyo", "--db", other])
    assert (args.db or args.default_db()) == other and args.zone == "Asia/Tokyo"
    monkeypatch.setenv("PAYCHANNELS_DB", other)
    assert resolved([*argv, "--config", str(path)]).default_db() == other
    monkeypatch.delenv("PAYCHANNELS_DB")
    monkeypatch.setenv(CONFIG_ENV, str(path))
    args = resolved(argv)
    assert args.default_db() == in_file and args.zone == "Asia/Urumqi"
    monkeypatch.delenv(CONFIG_ENV)
    args = resolved(argv)
    assert args.zone == "Asia/Shanghai" and args.deployment is None


def test_create_in_the_file_applies_to_its_own_journal_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PAYCHANNELS_DB", raising=False)
    path = tmp_path / "p.toml"
    path.write_text(f'[journal]\nurl = "sqlite:///{tmp_path}/new.db"\ncreate = true\n')
    build = ["batch", "build", "--roster", "r", "--format", "f", "--creditor", "c", "--out", "o"]
    build += ["--config", str(path)]
    assert resolved(build).create is True
    assert resolved([*build, "--db", f"sqlite:///{tmp_path}/x.db"]).create is False


def leaves(
    parser: argparse.ArgumentParser, path: list[str]
) -> Iterator[tuple[list[str], argparse.ArgumentParser]]:
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        yield path, parser
    for group in groups:
        for name, child in group.choices.items():
            yield from leaves(child, [*path, name])


def test_every_command_takes_config() -> None:
    commands = list(leaves(build_parser(), []))
    assert len(commands) > 15
    for command, parser in commands:
        assert "[--config PATH]" in parser.format_usage(), command


def test_a_bad_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PAYCHANNELS_DB", raising=False)
    path = tmp_path / "p.toml"
    path.write_text('[journal]\nurl = "sqlite:///j.db"\n\n[janitor]\ninterval = "often"\n')
    assert main(["journal", "list", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert (
        err == f"paychannels: error: {path} line 5, janitor.interval: must be a duration "
        'from 1s to 24h, e.g. "60s", "5m", "1h30m"\n'
    )


def test_the_command_reads_the_file_in_a_real_process(files: tuple[Path, str, str]) -> None:
    path, _, other = files
    env = {k: v for k, v in os.environ.items() if k not in ("PAYCHANNELS_DB", CONFIG_ENV)}

    def listed(*argv: str, **extra: str) -> list[str]:
        done = paychannels("journal", "list", "--json", *argv, env={**env, **extra})
        assert done.returncode == 0, done.stderr
        return [row["reference"] for row in json.loads(done.stdout)]

    assert listed("--config", str(path)) == ["from-file"]
    assert listed(**{CONFIG_ENV: str(path)}) == ["from-file"]
    assert listed("--config", str(path), "--db", other) == ["from-other"]
    assert listed("--config", str(path), PAYCHANNELS_DB=other) == ["from-other"]


def test_the_cli_and_the_loader_name_the_same_variable() -> None:
    assert CONFIG_ENV == LOADER_ENV


def test_config_check_shows_the_deployment_without_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.setenv("T_CHECK_PW", "135790")
    path = tmp_path / "p.toml"
    path.write_text(
        f'[journal]\nurl = "sqlite:///{tmp_path}/j.db"\n\n[channels.hall-1]\n'
        'url = "zvt+tcp://127.0.0.1:1"\npassword = { env = "T_CHECK_PW" }\n'
        'end_of_day_at = "21:30"\n[channels.desk]\nurl = "memory://"\n'
    )
    assert main(["config", "check", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "135790" not in out
    assert "  password = <env T_CHECK_PW>\n  download end_of_day 21:30\n" in out
    # --open: the journal must be there (never created by a check), the channels must open
    assert main(["config", "check", "--open", "--config", str(path)]) == 2
    assert "no journal at" in capsys.readouterr().err
    assert not (tmp_path / "j.db").exists()
    Collector.open(f"sqlite:///{tmp_path}/j.db", create=True).close()
    assert main(["config", "check", "--open", "--json", "--config", str(path)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["opened"] is True and sorted(shown["channels"]) == ["desk", "hall-1"]
    assert main(["config", "check"]) == 2
    assert "no config file" in capsys.readouterr().err
