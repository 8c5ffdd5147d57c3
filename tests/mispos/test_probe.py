"""``paychannels terminal ... --profile``: proving a MIS-POS profile against the terminal.

The simulator speaks the shipped profile; the probe is run with the profile as shipped
(all fits) and with profiles carrying the mistakes a field engineer makes when copying a
bank's document — each gets a finding that names the fix.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from paychannels import Status, open_journal
from paychannels.cli.main import main
from paychannels.drivers.mispos.profile import profile_file
from paychannels.drivers.mispos.profile_checks import load
from paychannels.links import Transcript
from paychannels.simulators.terminal import TerminalSimulator

TLV = profile_file("tlv-9f").read_text(encoding="utf-8")


@pytest.fixture
def pty() -> Iterator[tuple[TerminalSimulator, str]]:
    sim = TerminalSimulator()
    spec = load("tlv-9f")
    path = sim.serve_mispos(replace(spec, frame=replace(spec.frame, ack_timeout=0.3)))
    yield sim, path
    sim.close()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main(["terminal", *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def findings(out: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {f["check"]: f for f in out["findings"]}


def own_profile(tmp_path: Path, old: str, new: str) -> str:
    assert old in TLV
    path = tmp_path / "bank.toml"
    path.write_text(TLV.replace(old, new, 1), encoding="utf-8")
    return str(path)


@pytest.mark.slow
def test_status_with_a_fitting_profile(
    pty: tuple[TerminalSimulator, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _sim, path = pty
    trace = tmp_path / "t"
    code, out = run(
        capsys,
        "status",
        "--link",
        f"serial://{path}",
        "--profile",
        "tlv-9f",
        "--wait",
        "1",
        "--transcript",
        str(trace),
    )
    assert code == 0 and out["ok"], out
    assert findings(out)["framing"]["ok"] and findings(out)["fields"]["ok"]
    assert "rc=25" in findings(out)["fields"]["text"]  # no transaction yet
    assert [e.direction for e in Transcript.load(trace).exchanges()][:2] == [">", "<"]


@pytest.mark.parametrize(
    ("old", "new", "check", "fix"),
    [
        ("lrc_seed = 0x00", "lrc_seed = 0x7F", "framing", "lrc_seed = 0x00"),
        (
            'lrc = ["length", "body", "etx"]',
            'lrc = ["body", "etx"]',
            "framing",
            'lrc = ["length", "body", "etx"]',
        ),
        ('length = "bcd"', 'length = "binary"', "framing", 'length = "bcd"'),
        ('rc = { tag = "9F14"', 'rc = { tag = "9F15"', "fields", "9F14"),
    ],
)
@pytest.mark.slow
def test_a_profile_mistake_gets_its_fix(
    pty: tuple[TerminalSimulator, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    old: str,
    new: str,
    check: str,
    fix: str,
) -> None:
    _sim, path = pty
    mine = own_profile(tmp_path, old, new)
    code, out = run(
        capsys,
        "status",
        "--link",
        f"serial://{path}",
        "--profile",
        mine,
        "--wait",
        "1",
        "--transcript",
        str(tmp_path / "t"),
    )
    assert code == 1 and not out["ok"]
    finding = findings(out)[check]
    assert not finding["ok"]
    assert fix in finding["hint"], finding


@pytest.mark.slow
def test_a_silent_terminal(
    pty: tuple[TerminalSimulator, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim, path = pty
    sim.terminal.line_mode = "mute"
    code, out = run(
        capsys,
        "status",
        "--link",
        f"serial://{path}",
        "--profile",
        "tlv-9f",
        "--wait",
        "1",
        "--transcript",
        str(tmp_path / "t"),
    )
    assert code == 1
    assert findings(out)["answer"]["text"] == "The terminal does not answer at all."


def test_a_broken_profile_is_a_usage_error(
    pty: tuple[TerminalSimulator, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _sim, path = pty
    mine = own_profile(tmp_path, '"9F02"', '"9F0"')
    code = main(["terminal", "status", "--link", f"serial://{path}", "--profile", mine])
    assert code == 2
    assert "bank.toml:" in capsys.readouterr().err


@pytest.mark.slow
def test_probe_with_a_test_payment_then_settlement(
    pty: tuple[TerminalSimulator, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim, path = pty
    db = f"sqlite:///{tmp_path}/hall.db"
    link = f"serial://{path}"
    code, out = run(
        capsys,
        "probe",
        "--link",
        link,
        "--profile",
        "tlv-9f",
        "--wait",
        "1",
        "--pay",
        "0.01",
        "--yes",
        "--db",
        db,
        "--create",  # the first command of a field test starts its journal
        "--transcript",
        str(tmp_path / "t"),
    )
    assert code == 0, out
    assert findings(out)["payment"]["ok"] and findings(out)["reversal"]["ok"]
    assert out["payment"]["status"] == "REVERSED"
    journal = open_journal(db)
    try:
        (record,) = journal.find(limit=10)
        assert record.status is Status.REVERSED
    finally:
        journal.close()
    assert [t.kind for t in sim.terminal.journal.txns] == ["payment", "reversal"]
    code, out = run(
        capsys,
        "end-of-day",
        "--link",
        link,
        "--profile",
        "tlv-9f",
        "--db",
        db,
        "--transcript",
        str(tmp_path / "t2"),
    )
    assert code == 0 and out["settlement"]["rc"] == "00"
    # the reversed test payment is not in the batch; amounts for people are yuan, two decimals
    receipt = out["settlement"]["receipt"]
    assert "笔数 COUNT 0" in receipt and "金额 TOTAL 0.00" in receipt, receipt
