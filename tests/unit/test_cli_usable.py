"""The command line people use (issue 15 item 7): pipes, usage errors, plain help, no reprs."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from paychannels import Collector, MemoryChannel, Money, PaymentRequest
from paychannels.cli.main import build_parser, main

PY_REPR = re.compile(r"\{'|\{\}|\['|\[\]|\bNone\b|\(\)|: \{")


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/j.db"
    with Collector.open(url, create=True) as col:
        col.add_channel("hall-1", MemoryChannel())
        for i in range(400):
            col.collect(
                PaymentRequest(
                    payer_id=f"1504221990010{i:05d}",
                    amount=Money("380.00", "CNY"),
                    reference="2026",
                    idempotency_key=f"k{i}",
                    payer_name="张三",
                ),
                channel="hall-1",
            )
    return url


def _closing_reader(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run ``paychannels ARGS | head -1``: the reader closes after the first line."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "paychannels.cli.main", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # as head does
    err = proc.stderr.read().decode()
    return proc.wait(timeout=60), err


@pytest.mark.parametrize(
    "args",
    [
        ["journal", "list", "--limit", "400"],
        ["journal", "list", "--limit", "400", "--json"],
        ["--help"],
        ["journal", "show", "PLACEHOLDER"],
    ],
)
def test_a_closed_pipe_is_not_an_internal_error(db: str, args: list[str]) -> None:
    env = {**os.environ, "PAYCHANNELS_DB": db}
    if "PLACEHOLDER" in args:
        with Collector.open(db) as col:
            args = [a if a != "PLACEHOLDER" else col.journal.find(limit=1)[0].id for a in args]
    code, err = _closing_reader(args, env)
    assert "internal error" not in err and "Traceback" not in err and "Exception" not in err, err
    assert code in (0, 141), err


def _parsers(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:  # test only: argparse has no public walk
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _parsers(child, (*path, name))


def test_every_help_is_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    seen = 0
    for path, _ in _parsers(build_parser()):
        with pytest.raises(SystemExit):
            main([*path, "--help"])
        text = capsys.readouterr().out
        assert "``" not in text, f"paychannels {' '.join(path)} --help:\n{text}"
        seen += 1
    assert seen > 15


def _encoding_commands() -> list[tuple[str, ...]]:
    return [
        path
        for path, parser in _parsers(build_parser())
        if any("--encoding" in a.option_strings for a in parser._actions)
    ]


def test_every_encoding_option_is_found() -> None:
    assert {"batch", "reconcile", "feed"} <= {p[0] for p in _encoding_commands()}


@pytest.mark.parametrize("path", _encoding_commands(), ids=" ".join)
def test_an_unknown_encoding_is_a_usage_error(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        main([*path, "--encoding", "klingon-8"])
    assert stop.value.code == 2
    assert "klingon-8" in capsys.readouterr().err


def _text(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    main(argv)
    captured = capsys.readouterr()
    return captured.out + captured.err


def test_no_python_internals_in_what_commands_print(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each command's text output, over a small bank cycle, reads as prose: no dict/list reprs."""
    from tests.bank.test_full_cycle import write_roster

    roster = tmp_path / "roster.csv"
    write_roster(roster, 12)
    (tmp_path / "creditor.toml").write_text(
        '[creditor]\nname = "某社保局"\naccount = "15050171001234567890"\n'
        'bank = "105191000011"\nmsg_prefix = "KYQ"\n',
        "utf-8",
    )
    db = f"sqlite:///{tmp_path}/journal.db"
    build = ["batch", "build", "--format", "pain.008.001.08", "--db", db, "--roster", str(roster)]
    build += ["--creditor", str(tmp_path / "creditor.toml"), "--out", str(tmp_path / "x")]
    outputs = {"batch build": _text([*build, "--create"], capsys)}
    outputs["batch resubmit"] = _text(["batch", "resubmit", "--db", db], capsys)
    outputs["journal list"] = _text(["journal", "list", "--db", db], capsys)
    first = next(line.split()[0] for line in outputs["journal list"].splitlines()[1:])
    outputs["journal show"] = _text(["journal", "show", first, "--db", db], capsys)
    outputs["journal verify"] = _text(["journal", "verify", "--db", db], capsys)
    request = next((tmp_path / "x" / "outbox").iterdir())
    outputs["batch validate"] = _text(["batch", "validate", str(request)], capsys)
    for name, text in outputs.items():
        assert text.strip(), name
        assert not PY_REPR.search(text), f"paychannels {name}:\n{text}"


def test_the_demo_crash_note_reads_as_prose() -> None:
    """The demo's note on recovery after the killed backend (it printed ``{'SUCCEEDED': 1}``)."""
    from paychannels.demo.crash import Crash
    from paychannels.demo.drivers import Fault

    crash = Crash("hall-1", Fault("hall-1", "killed", ""), True, -9, {"SUCCEEDED": 1, "UNKNOWN": 2})
    assert crash.recovery_note() == "recovery after the killed process: 1 SUCCEEDED, 2 UNKNOWN"
    assert "{" not in Crash("hall-1", Fault("hall-1", "k", ""), True, -9).recovery_note()
