"""Wrong serial line settings in the field: found fast, and what was found is used and shown.

A real pty (the simulator's terminal at 19200 baud, 1 stop bit) and the real command-line
entry points as child processes, each bounded by a timeout so nothing can hang CI.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
import tty
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from paychannels.drivers.mispos.profile_checks import load
from paychannels.drivers.zvt.errors import NoAcknowledgement
from paychannels.drivers.zvt.transport import SerialTransport
from paychannels.links import open_link
from paychannels.simulators.terminal import TerminalSimulator

PASSWORD = "246813"


@pytest.fixture
def fast_sim() -> Iterator[TerminalSimulator]:
    """A terminal on a pty at 19200 baud, 8N1 (not ZVT's usual 9600 8N2)."""
    with TerminalSimulator(password=int(PASSWORD), t2=0.3, ack_timeout=1.0) as sim:
        yield sim


def paychannels(*args: str, timeout: float) -> tuple[int, dict, float]:  # type: ignore[type-arg]
    """Run ``paychannels terminal ... --json`` as a process; its exit code, output, seconds."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "paychannels.cli.main", "terminal", *args, "--json"],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PAYCHANNELS_ZVT_PASSWORD": PASSWORD},
    )
    return done.returncode, json.loads(done.stdout), time.monotonic() - started


def by_check(out: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {f["check"]: f for f in out["findings"]}


def test_status_on_a_wrong_baud_rate_says_so_within_seconds(
    fast_sim: TerminalSimulator, tmp_path: Path
) -> None:
    path = fast_sim.serve_pty(baudrate=19200, stopbits=1)
    code, out, seconds = paychannels(
        "status",
        "--link",
        f"serial://{path}?baudrate=9600",
        "--transcript",
        str(tmp_path / "t"),
        timeout=30,
    )
    found = by_check(out)["protocol"]
    assert code == 1 and "garbled" in found["text"]
    assert "paychannels terminal probe --scan" in found["hint"]
    assert seconds < 5, f"the garbled line took {seconds:.1f} s to report"


def test_probe_scan_uses_the_settings_it_found_and_prints_the_channel_url(
    fast_sim: TerminalSimulator, tmp_path: Path
) -> None:
    path = fast_sim.serve_pty(baudrate=19200, stopbits=1)
    code, out, seconds = paychannels(
        "probe",
        "--link",
        f"serial://{path}?baudrate=9600",
        "--scan",
        "--transcript",
        str(tmp_path / "t"),
        timeout=60,
    )
    found = by_check(out)
    assert found["scan"]["ok"] and found["scan"]["data"]["baudrate"] == 19200
    assert found["registration"]["ok"], found["registration"]
    url = f"zvt+serial://{path}?baudrate=19200&stopbits=1"
    assert out["channel_url"] == url and url in found["scan"]["hint"]
    assert code == 1  # the settings given were wrong: the config needs the URL above
    assert seconds < 20


def read_line(stream: object, timeout: float) -> str:
    """One line from a child's stdout, or a failure after ``timeout`` seconds."""
    with selectors.DefaultSelector() as sel:
        sel.register(stream, selectors.EVENT_READ)  # type: ignore[arg-type]
        assert sel.select(timeout), "the simulator printed nothing"
    return stream.readline()  # type: ignore[attr-defined,no-any-return]


def test_simulator_prints_the_pty_url_with_its_real_line_settings(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "paychannels.simulators.cli",
            "terminal",
            "--pty",
            "--baudrate",
            "19200",
            "--stopbits",
            "1",
            "--password",
            PASSWORD,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = read_line(proc.stdout, 15)
        url = line.split("(channel URL ")[1].rstrip(")\n")
        assert url.endswith("?baudrate=19200&stopbits=1"), line
        code, out, _ = paychannels(
            "status", "--link", url, "--transcript", str(tmp_path / "t"), timeout=30
        )
        assert code == 0, out
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 143


def test_mispos_probe_scan_pays_at_the_settings_it_found(tmp_path: Path) -> None:
    spec = load("tlv-9f")
    at_19200 = replace(
        spec,
        line=replace(spec.line, baudrate=19200),
        frame=replace(spec.frame, ack_timeout=0.3),
    )
    with TerminalSimulator() as sim:
        path = sim.serve_mispos(at_19200)
        code, out, seconds = paychannels(
            "probe",
            "--link",
            f"serial://{path}",
            "--profile",
            "tlv-9f",
            "--wait",
            "1",
            "--scan",
            "--pay",
            "0.01",
            "--yes",
            "--keep",
            "--db",
            f"sqlite:///{tmp_path}/j.db",
            "--create",
            "--transcript",
            str(tmp_path / "t"),
            timeout=90,
        )
        paid = [t.kind for t in sim.terminal.journal.txns]
    found = by_check(out)
    url = f"mispos+serial://{path}?baudrate=19200&stopbits=1&profile=tlv-9f"
    assert found["scan"]["ok"] and out["channel_url"] == url and url in found["scan"]["hint"]
    assert out["payment"]["status"] == "SUCCEEDED" and paid == ["payment"], out
    assert code == 1 and seconds < 60


@pytest.mark.parametrize("books", [False, True])
def test_a_garbled_answer_ends_the_wait_at_once_and_a_booking_is_not_resent(books: bool) -> None:
    """A peer on other line settings answers every frame with noise: a status enquiry is
    resent at once (not after T2 each time), a booking frame goes once (silence rules)."""
    master, slave = os.openpty()
    tty.setraw(slave)
    link = open_link(f"serial://{os.ttyname(slave)}?baudrate=9600", do_not_open=True)
    transport = SerialTransport(link, t1=0.2, t2=5.0)
    transport.open()
    frames: list[bytes] = []
    done = threading.Event()

    def peer() -> None:
        while not done.is_set():
            if _readable(master, 0.05):
                data = os.read(master, 4096)
                frames.append(data)
                os.write(master, bytes(0x80 | (b >> 1) ^ 0x7F for b in data))

    thread = threading.Thread(target=peer, daemon=True)
    thread.start()
    started = time.monotonic()
    try:
        if books:
            assert transport.send(b"\x06\x01\x00", books=True) is False
        else:
            with pytest.raises(NoAcknowledgement):
                transport.send(b"\x05\x01\x00")
        seconds = time.monotonic() - started
    finally:
        done.set()
        thread.join(2)
        transport.close()
        os.close(master)
        os.close(slave)
    assert len(frames) == (1 if books else 3)
    assert seconds < 2, f"{seconds:.1f} s: the garbled answers were waited out like silence"


def _readable(fd: int, wait: float) -> bool:
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        return bool(sel.select(wait))
