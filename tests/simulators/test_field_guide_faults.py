"""Every simulator fault can be ended, and the field-testing guide says how.

The line is switched back with ``{"mode": "normal"}`` whatever protocol the front speaks
(ZVT on TCP, a MIS-POS profile on a pty), through the real control API; and the guide names
every fault of ``script.FAULTS`` and every line mode with the command that ends it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from paychannels.cli.main import main
from paychannels.drivers.mispos.profile_checks import load
from paychannels.simulators.terminal import TerminalSimulator
from paychannels.simulators.terminal.core import LINE_MODES
from paychannels.simulators.terminal.script import FAULTS

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "field-testing.md"


def post(base: str, path: str, body: object) -> tuple[int, dict]:  # type: ignore[type-arg]
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def sim() -> Iterator[TerminalSimulator]:
    with TerminalSimulator(t2=0.3, ack_timeout=1.0) as s:
        yield s


def status(capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: str) -> int:
    code = main(["terminal", "status", *args, "--transcript", str(tmp_path / "t"), "--json"])
    capsys.readouterr()
    return code


def test_zvt_line_goes_back_to_normal(
    sim: TerminalSimulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    host, port = sim.serve_tcp("127.0.0.1", 0)
    control = sim.serve_control()
    link = ("--link", f"tcp://{host}:{port}?t3=0.5")
    assert post(control, "/line", {"mode": "mute"}) == (200, {"line_mode": "mute"})
    assert status(capsys, tmp_path, *link) == 1
    assert post(control, "/line", {"mode": "normal"}) == (200, {"line_mode": "normal"})
    assert status(capsys, tmp_path, *link) == 0


def test_mispos_line_goes_back_to_normal(
    sim: TerminalSimulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = load("tlv-9f")
    path = sim.serve_mispos(replace(spec, frame=replace(spec.frame, ack_timeout=0.3)))
    control = sim.serve_control()
    link = ("--link", f"serial://{path}", "--profile", "tlv-9f", "--wait", "1")
    assert post(control, "/line", {"mode": "noise"})[0] == 200
    assert status(capsys, tmp_path, *link) == 1
    assert post(control, "/line", {"mode": "normal"}) == (200, {"line_mode": "normal"})
    assert status(capsys, tmp_path, *link) == 0


def test_an_unknown_line_mode_is_refused_naming_normal(sim: TerminalSimulator) -> None:
    code, answer = post(sim.serve_control(), "/line", {"mode": "off"})
    assert code == 400 and "normal" in answer["error"]
    assert sim.terminal.line_mode == "normal"


def test_every_fault_and_line_mode_is_in_the_guide_with_what_ends_it() -> None:
    from paychannels.simulators.terminal.guide import fault_guide

    text = GUIDE.read_text(encoding="utf-8")
    assert fault_guide() in text, "regenerate: python -m paychannels.simulators.terminal.guide"
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line[:2] == "| "}
    for name in [*FAULTS, *LINE_MODES]:
        row = rows.get(f"`{name}`")
        assert row is not None, f"{name} is not in {GUIDE.name}"
        assert "POST" in row or "by itself" in row, f"{name}: the guide does not say what ends it"
