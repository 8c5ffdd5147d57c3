"""The field tools against the simulator: ``paychannels terminal`` and ``paychannels-sim terminal``.

Each usual mistake gets its plain-language diagnosis: wrong port, wrong baud/stop bits,
another protocol on the line, ZVT switched off, a wrong password, a terminal needing
initialisation. The guided test payment is journaled and reversed.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from paychannels import Status, open_journal
from paychannels.cli.main import main
from paychannels.links import Transcript
from paychannels.simulators.terminal import TerminalSimulator

PASSWORD = "246813"


@pytest.fixture
def sim() -> Iterator[TerminalSimulator]:
    s = TerminalSimulator(password=int(PASSWORD), t2=0.3, ack_timeout=1.0)
    yield s
    s.close()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main(["terminal", *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def findings(out: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {f["check"]: f for f in out["findings"]}


def test_status_of_a_ready_terminal(
    sim: TerminalSimulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    host, port = sim.serve_tcp("127.0.0.1", 0)
    code, out = run(
        capsys, "status", "--link", f"tcp://{host}:{port}", "--transcript", str(tmp_path / "t")
    )
    assert code == 0 and out["ok"]
    assert findings(out)["status"]["data"]["terminal_id"] == 29001234
    entries = Transcript.load(tmp_path / "t").entries
    assert [e.note for e in entries if e.direction == ">"] == [
        "StatusEnquiry",
        "positive acknowledgement",
    ]


@pytest.mark.slow
def test_probe_with_a_guided_test_payment(
    sim: TerminalSimulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = sim.serve_pty()
    monkeypatch.setenv("PAYCHANNELS_ZVT_PASSWORD", PASSWORD)
    db = f"sqlite:///{tmp_path}/j.db"
    transcript = tmp_path / "probe.trace"
    args = ["probe", "--link", f"serial://{path}?baudrate=9600", "--pay", "0.01", "--yes"]
    code, out = run(capsys, *args, "--db", db, "--create", "--transcript", str(transcript))
    assert code == 0, out
    assert [f["check"] for f in out["findings"]] == [
        "status",
        "registration",
        "payment",
        "reversal",
    ]
    assert out["payment"]["status"] == "REVERSED"
    journal = open_journal(db)
    record = journal.get(out["payment"]["id"])
    assert record.status is Status.REVERSED and record.amount.minor == 1
    journal.close()
    assert [t.kind for t in sim.terminal.journal.txns] == ["payment", "reversal"]
    text = transcript.read_text()
    assert PASSWORD not in text and "Authorization" in text and "Reversal" in text


def test_probe_without_confirmation_refuses_to_pay(
    sim: TerminalSimulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    host, port = sim.serve_tcp("127.0.0.1", 0)
    monkeypatch.setenv("PAYCHANNELS_ZVT_PASSWORD", PASSWORD)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    code = main(
        [
            "terminal",
            "probe",
            "--link",
            f"tcp://{host}:{port}",
            "--pay",
            "1.00",
            "--transcript",
            str(tmp_path / "t"),
        ]
    )
    assert code == 2 and "--yes" in capsys.readouterr().err
    assert sim.terminal.journal.txns == []


def test_wrong_password(
    sim: TerminalSimulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    host, port = sim.serve_tcp("127.0.0.1", 0)
    code, out = run(
        capsys, "probe", "--link", f"tcp://{host}:{port}", "--transcript", str(tmp_path / "t")
    )
    assert code == 1
    found = findings(out)["registration"]
    assert not found["ok"] and "password" in found["hint"]


def test_wrong_port(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    code, out = run(
        capsys, "status", "--link", f"tcp://127.0.0.1:{port}", "--transcript", str(tmp_path / "t")
    )
    assert code == 1
    found = findings(out)["link"]
    assert "refused" in found["text"] and "20007" in found["hint"]
    code, out = run(
        capsys, "status", "--link", "serial:///dev/ttyNOSUCH0", "--transcript", str(tmp_path / "t")
    )
    assert "Serial ports on this machine" in findings(out)["link"]["hint"]


@pytest.mark.parametrize(
    ("mode", "text"),
    [
        ("mute", "does not answer at all"),
        ("other_protocol", "another protocol"),
    ],
)
@pytest.mark.slow
def test_terminal_not_speaking_zvt(
    sim: TerminalSimulator, tmp_path: Path, capsys: pytest.CaptureFixture[str], mode: str, text: str
) -> None:
    host, port = sim.serve_tcp("127.0.0.1", 0)
    sim.terminal.line_mode = mode
    code, out = run(
        capsys,
        "status",
        "--link",
        f"tcp://{host}:{port}?t3=0.5",
        "--transcript",
        str(tmp_path / "t"),
    )
    assert code == 1 and text in findings(out)["protocol"]["text"]


@pytest.mark.slow
def test_wrong_baud_rate_and_stop_bits_are_found_by_scanning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with TerminalSimulator(password=int(PASSWORD), t2=0.3) as sim:
        path = sim.serve_pty(baudrate=19200, stopbits=1)
        link = f"serial://{path}?baudrate=9600&stopbits=2&t3=0.5&t2=0.3"
        code, out = run(
            capsys, "probe", "--link", link, "--scan", "--transcript", str(tmp_path / "t")
        )
    found = findings(out)
    assert "garbled" in found["protocol"]["text"]
    assert found["scan"]["ok"] and found["scan"]["data"] == {"baudrate": 19200, "stopbits": "1"}
    assert code == 1  # the channel URL still has the wrong settings


def test_terminal_needing_initialisation(
    sim: TerminalSimulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    host, port = sim.serve_tcp("127.0.0.1", 0)
    sim.terminal.status_code = 0x51
    code, out = run(
        capsys, "status", "--link", f"tcp://{host}:{port}", "--transcript", str(tmp_path / "t")
    )
    assert code == 1
    found = findings(out)["status"]
    assert "initialisation required" in found["text"] and "initialisation" in found["hint"]


def test_end_of_day(
    sim: TerminalSimulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    host, port = sim.serve_tcp("127.0.0.1", 0)
    monkeypatch.setenv("PAYCHANNELS_ZVT_PASSWORD", PASSWORD)
    db = f"sqlite:///{tmp_path}/j.db"
    link = f"tcp://{host}:{port}"
    code, out = run(
        capsys,
        "probe",
        "--link",
        link,
        "--pay",
        "2.50",
        "--yes",
        "--keep",
        "--db",
        db,
        "--create",  # the first command of a field test starts its journal
        "--transcript",
        str(tmp_path / "a"),
    )
    assert code == 0 and out["payment"]["status"] == "SUCCEEDED"
    code, out = run(
        capsys, "end-of-day", "--link", link, "--db", db, "--transcript", str(tmp_path / "b")
    )
    assert code == 0
    assert out["totals"]["total"] == "¥2.50" and out["totals"]["count"] == 1
    # one truth: the finding, the figures and the terminal's receipt say the same, in yuan
    assert out["totals"]["refunds"] == [0, "¥0.00"] and out["totals"]["net"] == "¥2.50"
    text = findings(out)["end-of-day"]["text"]
    assert text == "Batch closed: 1 payment(s) ¥2.50, 0 refund(s) ¥0.00, net ¥2.50."
    assert "PAYMENTS 1  2.50" in out["totals"]["receipt"]


def test_bad_link_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["terminal", "status", "--link", "/dev/ttyUSB0"]) == 2
    assert "expected tcp://" in capsys.readouterr().err


@pytest.mark.slow
def test_simulator_command_prints_where_it_listens(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "paychannels.simulators.cli",
            "terminal",
            "--tcp",
            "127.0.0.1:0",
            "--pty",
            "--control",
            "127.0.0.1:0",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]
        assert lines[0].startswith("ZVT over TCP on 127.0.0.1:") and "zvt+tcp://" in lines[0]
        assert "/dev/pts/" in lines[1] and "zvt+serial://" in lines[1]
        assert lines[2].startswith("control API on http://127.0.0.1:")
        url = lines[0].split("(channel URL ")[1].rstrip(")\n")
        code = main(["terminal", "status", "--link", url, "--transcript", str(tmp_path / "t")])
        assert code == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 143  # stopped by SIGTERM, cleanly (128 + 15)
