"""Sequential payments through the Collector against the ZVT terminal simulator, TCP and pty.

The simulator runs in its own process with zero cardholder delay. Measured in the same run:

* **library**: ``Collector.collect()`` (SQLite journal, ``synchronous=FULL``) through a
  ``zvt+tcp`` / ``zvt+serial`` channel, N payments one after another;
* **raw replay** (baseline): the byte dialogue of one such payment, recorded from the
  library, replayed N times over a raw socket (or the raw pty with pyserial): write our
  bytes, read exactly as many bytes as the terminal sent — no parsing, no journal.

The ratio library / raw is the library's cost over the bare conversation with the terminal.

    python benchmarks/zvt_throughput.py --payments 1000 [--json] [--transport tcp|serial|both]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import serial
from payers import bench_request  # benchmarks/payers.py

from paychannels import Collector
from paychannels.drivers.zvt import TerminalChannel
from paychannels.links import Link, SpyLink, Transcript, TranscriptWriter, deadline_in, open_link

PASSWORD = "246813"
TIMERS = "t3=5&t4=30"


def start_simulator() -> tuple[subprocess.Popen[str], dict[str, str]]:
    cmd = [sys.executable, "-m", "paychannels.simulators.cli", "terminal", "--tcp", "127.0.0.1:0"]
    cmd += ["--pty", "--json", "--password", PASSWORD]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, json.loads(proc.stdout.readline())


class Library:
    """A Collector with a ``zvt`` channel, warmed up, and one steady-state dialogue recorded."""

    def __init__(self, url: str, db: str) -> None:
        self.col = Collector.open(db, create=True)
        channel = self.col.add_channel("hall-1", url, password=PASSWORD)
        assert isinstance(channel, TerminalChannel)
        for i in range(3):  # registration and the first sync happen here, not in the timing
            self.pay(i)
        buffer = io.StringIO()
        client = channel.client
        real: Link = client.link
        client.link = SpyLink(real, TranscriptWriter(buffer, link=real.url))
        self.pay(99_999)
        client.link = real
        path = Path(tempfile.mkdtemp()) / "dialogue.trace"
        path.write_text(buffer.getvalue())
        self.dialogue = Transcript.load(path)
        self._next = 100

    def pay(self, i: int) -> None:
        payment = self.col.collect(bench_request(i), channel="hall-1")
        assert payment.status.value == "SUCCEEDED", payment.reason_detail

    def run(self, n: int) -> float:
        """Seconds for ``n`` more payments."""
        start = time.perf_counter()
        for i in range(self._next, self._next + n):
            self.pay(i)
        self._next += n
        return time.perf_counter() - start


def groups(dialogue: Transcript) -> list[tuple[str, bytes]]:
    """Consecutive bytes in one direction, joined: ('>', ours) or ('<', how much to read)."""
    out: list[tuple[str, bytes]] = []
    for entry in dialogue.exchanges():
        if out and out[-1][0] == entry.direction:
            out[-1] = (entry.direction, out[-1][1] + entry.data)
        else:
            out.append((entry.direction, entry.data))
    return out


def raw_run(link_url: str, dialogue: Transcript, n: int) -> float:
    """Replay the dialogue N times over a bare TCP link (a connection per payment, as the
    channel does): write ours, read exactly as many bytes as the terminal sent."""
    steps = groups(dialogue)
    link = open_link(link_url, do_not_open=True)
    start = time.perf_counter()
    for _ in range(n):
        link.open()
        for direction, data in steps:
            if direction == ">":
                link.write(data)
            else:
                link.read_exactly(len(data), deadline=deadline_in(10))
        link.close()
    return time.perf_counter() - start


def raw_serial_run(path: str, dialogue: Transcript, n: int) -> float:
    """The raw replay on the pty with pyserial alone (opened once per payment, like the channel)."""
    steps = groups(dialogue)
    start = time.perf_counter()
    for _ in range(n):
        port = serial.Serial(path, 9600, stopbits=2, timeout=10, exclusive=True)
        for direction, data in steps:
            if direction == ">":
                port.write(data)
            else:
                got = port.read(len(data))
                assert len(got) == len(data), "the terminal answered less than recorded"
        port.close()
    return time.perf_counter() - start


def measure(transport: str, where: dict[str, str], n: int, rounds: int) -> dict[str, Any]:
    """Library and raw replay, interleaved round by round (the machine's load drifts)."""
    if transport == "tcp":
        url = f"zvt+tcp://{where['tcp']}?{TIMERS}"
    else:
        url = f"zvt+serial://{where['pty']}?baudrate=9600&{TIMERS}"
    per_round = n // rounds
    with tempfile.TemporaryDirectory() as tmp:
        library = Library(url, f"sqlite:///{tmp}/journal.db")
        dialogue = library.dialogue
        lib: list[float] = []
        raw: list[float] = []
        try:
            for _ in range(rounds):
                lib.append(library.run(per_round))
                if transport == "tcp":
                    raw.append(raw_run(f"tcp://{where['tcp']}", dialogue, per_round))
                else:
                    raw.append(raw_serial_run(where["pty"], dialogue, per_round))
        finally:
            library.col.close()
    ratios = sorted(a / b for a, b in zip(lib, raw, strict=True))
    total_lib, total_raw, done = sum(lib), sum(raw), per_round * rounds
    return {
        "transport": transport,
        "payments": done,
        "library_payments_per_s": round(done / total_lib, 1),
        "raw_payments_per_s": round(done / total_raw, 1),
        "library_ms": round(1000 * total_lib / done, 3),
        "raw_ms": round(1000 * total_raw / done, 3),
        "overhead_ms": round(1000 * (total_lib - total_raw) / done, 3),
        "ratio": round(total_lib / total_raw, 2),
        "ratio_median_of_rounds": round(ratios[len(ratios) // 2], 2),
        "units_per_payment": len(dialogue.entries) - 2,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--payments", type=int, default=1000)
    parser.add_argument("--transport", choices=["tcp", "serial", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved slices")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    proc, where = start_simulator()
    try:
        transports = ["tcp", "serial"] if args.transport == "both" else [args.transport]
        results = [measure(t, where, args.payments, args.rounds) for t in transports]
    finally:
        proc.terminate()
        proc.wait(10)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(
        f"{results[0]['payments']} sequential payments per transport, simulator in its own "
        f"process, SQLite journal (synchronous=FULL), {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    for r in results:
        print(
            f"{r['transport']:>6}: library {r['library_payments_per_s']:>7.1f}/s "
            f"({r['library_ms']:.2f} ms)  raw replay {r['raw_payments_per_s']:>7.1f}/s "
            f"({r['raw_ms']:.2f} ms)  overhead {r['overhead_ms']:.2f} ms/payment  "
            f"ratio {r['ratio']:.2f}x (median of rounds {r['ratio_median_of_rounds']:.2f}x, "
            f"{r['units_per_payment']} units per payment)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
