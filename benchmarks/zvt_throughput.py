"""Sequential payments through the Collector against the ZVT terminal simulator, TCP and pty.

The simulator runs in its own process with zero cardholder delay. Measured in the same run:

* **library**: ``Collector.collect()`` (SQLite journal, ``synchronous=FULL``, the answer's
  commit under ``--outcome-sync``: ``lazy``, the default, or ``full``) through a
  ``zvt+tcp`` / ``zvt+serial`` channel, N payments one after another;
* **raw replay** (baseline): the byte dialogue of one such payment, recorded from the
  library, replayed N times over a bare socket (or the bare pty with pyserial): write our
  bytes, read as many terminal units (frames, ACKs) as were recorded, each cut by its
  framing alone — no parsing, no journal. (Reading the recorded *byte count* instead failed
  on the pty: a serial frame doubles each 0x10 of its APDU, so its length moves with the
  receipt number, the trace number and the time of day.)

Both run N payments per round, in interleaved rounds that alternate which side goes first;
each round's ratio library / raw is the library's cost over the bare conversation with the
terminal, and min / median / max over the rounds are reported.

    python benchmarks/zvt_throughput.py --payments 300 --rounds 5 [--transport tcp|pty|both]
        [--outcome-sync lazy,full]

(``pty`` and ``serial`` are the same: the simulator's pseudo-terminal with pyserial.)
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import serial
from payers import bench_request  # benchmarks/payers.py

from paychannels import Collector
from paychannels.drivers.zvt import TerminalChannel
from paychannels.links import Link, SpyLink, Transcript, TranscriptWriter

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

    def run(self, n: int) -> tuple[float, float]:
        """Seconds for ``n`` more payments: wall clock and this process's CPU."""
        start, cpu = time.perf_counter(), time.process_time()
        for i in range(self._next, self._next + n):
            self.pay(i)
        self._next += n
        return time.perf_counter() - start, time.process_time() - cpu


Unit = Callable[[bytes | bytearray], int | None]


def apdu_unit(buf: bytes | bytearray) -> int | None:
    """Length of the APDU at the start of ``buf`` (TCP), None while incomplete."""
    if len(buf) < 3:
        return None
    size, head = buf[2], 3
    if size == 0xFF:
        if len(buf) < 5:
            return None
        size, head = int.from_bytes(buf[3:5], "little"), 5
    return head + size if len(buf) >= head + size else None


def serial_unit(buf: bytes | bytearray) -> int | None:
    """Length of the ACK/NAK byte or the DLE STX .. DLE ETX CRC CRC frame at the start of
    ``buf`` (a pty), None while incomplete. A frame's length is not fixed: each 0x10 in its
    APDU (a receipt number 0010, ten o'clock, a trace number) is sent twice."""
    if not buf:
        return None
    if buf[0] != 0x10:
        return 1
    i = 2
    while True:
        j = buf.find(0x10, i)
        if j < 0 or j + 1 >= len(buf):
            return None
        if buf[j + 1] == 0x03:
            return j + 4 if j + 4 <= len(buf) else None
        i = j + 2  # a doubled DLE


def steps(dialogue: Transcript, unit: Unit) -> list[tuple[str, bytes, list[int]]]:
    """The dialogue as alternating directions: ('>', our bytes, []) or ('<', what the
    terminal sent, the length of each of its units: frames and ACKs)."""
    out: list[tuple[str, bytes, list[int]]] = []
    for entry in dialogue.exchanges():
        if out and out[-1][0] == entry.direction:
            out[-1] = (entry.direction, out[-1][1] + entry.data, [])
        else:
            out.append((entry.direction, entry.data, []))
    for i, (direction, data, _) in enumerate(out):
        if direction == "<":
            lengths, rest = [], data
            while rest:
                n = unit(rest)
                assert n is not None, "the recording ends inside a frame"
                lengths.append(n)
                rest = rest[n:]
            out[i] = (direction, data, lengths)
    return out


class Replay:
    """The bare ECR: writes our recorded bytes and reads, for each terminal turn, as many
    units (frames, ACKs) as were recorded, cut by their framing alone — not by byte count,
    which differs from payment to payment on a serial line. No parsing, no journal."""

    def __init__(self, dialogue: Transcript, unit: Unit) -> None:
        self.steps = steps(dialogue, unit)
        self.unit = unit
        self.differed = 0  # terminal units whose length was not the recorded one

    def converse(self, write: Callable[[bytes], object], recv: Callable[[], bytes]) -> None:
        buf = bytearray()
        for direction, data, lengths in self.steps:
            if direction == ">":
                write(data)
                continue
            for expected in lengths:
                while (n := self.unit(buf)) is None:
                    chunk = recv()
                    if not chunk:
                        raise TimeoutError("the terminal went silent in the replay")
                    buf += chunk
                self.differed += n != expected
                del buf[:n]

    def run_tcp(self, where: str, n: int) -> tuple[float, float]:
        """N payments over a bare socket, a connection per payment (as the channel does)."""
        host, port = where.rsplit(":", 1)
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(n):
            with socket.create_connection((host, int(port)), timeout=10) as sock:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.converse(sock.sendall, partial(sock.recv, 4096))
        return time.perf_counter() - start, time.process_time() - cpu

    def run_serial(self, path: str, n: int) -> tuple[float, float]:
        """N payments on the pty with pyserial alone, opened per payment (as the channel)."""
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(n):
            port = serial.Serial(path, 9600, stopbits=2, timeout=10, exclusive=True)
            try:

                def recv(port: serial.Serial = port) -> bytes:
                    return bytes(port.read(port.in_waiting or 1))

                self.converse(port.write, recv)
            finally:
                port.close()
        return time.perf_counter() - start, time.process_time() - cpu


def spread(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "min": round(ordered[0], 2),
        "median": round(statistics.median(ordered), 2),
        "max": round(ordered[-1], 2),
    }


def measure(
    transport: str, where: dict[str, str], n: int, rounds: int, rule: str = "lazy"
) -> dict[str, Any]:
    """Library and raw replay, N payments each per round, interleaved and alternating which
    goes first (the machine's load drifts; a round's ratio compares neighbours in time)."""
    if transport == "tcp":
        url = f"zvt+tcp://{where['tcp']}?{TIMERS}"
    else:
        url = f"zvt+serial://{where['pty']}?baudrate=9600&{TIMERS}"
    with tempfile.TemporaryDirectory() as tmp:
        library = Library(url, f"sqlite:///{tmp}/journal.db?outcome_sync={rule}")
        replay = Replay(library.dialogue, apdu_unit if transport == "tcp" else serial_unit)

        def raw(count: int) -> tuple[float, float]:
            if transport == "tcp":
                return replay.run_tcp(where["tcp"], count)
            return replay.run_serial(where["pty"], count)

        raw(min(n, 20))  # the replay's own warm-up
        lib: list[tuple[float, float]] = []
        bare: list[tuple[float, float]] = []
        try:
            for r in range(rounds):
                if r % 2:
                    bare.append(raw(n))
                    lib.append(library.run(n))
                else:
                    lib.append(library.run(n))
                    bare.append(raw(n))
        finally:
            library.col.close()
    cpu = [c for _, c in lib]
    lib, bare = [w for w, _ in lib], [w for w, _ in bare]
    ratios = [a / b for a, b in zip(lib, bare, strict=True)]
    return {
        "transport": transport,
        "outcome_sync": rule,
        "payments_per_round": n,
        "rounds": rounds,
        "library_ms": spread([1000 * t / n for t in lib]),
        "raw_ms": spread([1000 * t / n for t in bare]),
        "overhead_ms": spread([1000 * (a - b) / n for a, b in zip(lib, bare, strict=True)]),
        "ratio": spread(ratios),
        "ratios": [round(x, 2) for x in ratios],
        "library_payments_per_s": round(n * rounds / sum(lib), 1),
        # the library's own CPU a payment (its process: Collector, journal, driver), which the
        # machine's load moves far less than the wall-clock figures
        "library_cpu_ms": spread([1000 * t / n for t in cpu]),
        # each round on its own, so a round over the target can be attributed: the library's
        # CPU against its wall (the rest is waiting: the intent's fsync, the terminal)
        "per_round": [
            {
                "ratio": round(a / b, 2),
                "library_ms": round(1000 * a / n, 2),
                "library_cpu_ms": round(1000 * c / n, 2),
                "library_wait_ms": round(1000 * (a - c) / n, 2),
                "raw_ms": round(1000 * b / n, 2),
            }
            for a, b, c in zip(lib, bare, cpu, strict=True)
        ],
        "units_per_payment": len(library.dialogue.entries) - 2,
        "replayed_units_of_another_length": replay.differed,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--payments", type=int, default=300, help="per side per round")
    parser.add_argument("--transport", choices=["tcp", "serial", "pty", "both"], default="both")
    parser.add_argument(
        "--outcome-sync", default="lazy", help="journal rule(s), comma-separated: lazy, full"
    )
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    load = os.getloadavg()
    proc, where = start_simulator()
    try:
        transports = ["tcp", "serial"] if args.transport == "both" else [args.transport]
        transports = ["serial" if t == "pty" else t for t in transports]
        rules = args.outcome_sync.split(",")
        if not set(rules) <= {"lazy", "full"}:
            raise SystemExit(f"--outcome-sync: {args.outcome_sync!r}: lazy and/or full")
        results = [
            measure(t, where, args.payments, args.rounds, rule)
            for rule in rules
            for t in transports
        ]
    finally:
        proc.terminate()
        proc.wait(10)
    load_after = os.getloadavg()
    if args.json:
        print(json.dumps({"load": [load, load_after], "results": results}, indent=2))
        return 0
    print(
        f"{args.payments} sequential payments per side per round, {args.rounds} interleaved "
        f"rounds, simulator in its own process, SQLite journal (synchronous=FULL, "
        f"outcome_sync {args.outcome_sync}), "
        f"{os.cpu_count()} cores, load average {load[0]:.2f} -> {load_after[0]:.2f}"
    )
    for r in results:
        lib, raw, ratio, over = r["library_ms"], r["raw_ms"], r["ratio"], r["overhead_ms"]
        print(
            f"{r['transport']:>6} ({r['outcome_sync']}): ratio min {ratio['min']:.2f}x "
            f"median {ratio['median']:.2f}x "
            f"max {ratio['max']:.2f}x (rounds: {', '.join(f'{x:.2f}' for x in r['ratios'])})\n"
            f"        library {lib['min']:.2f}/{lib['median']:.2f}/{lib['max']:.2f} ms, raw "
            f"replay {raw['min']:.2f}/{raw['median']:.2f}/{raw['max']:.2f} ms, overhead "
            f"{over['median']:.2f} ms/payment (min/median/max); "
            f"{r['library_payments_per_s']:.0f} payments/s; library CPU "
            f"{r['library_cpu_ms']['median']:.2f} ms/payment (median); "
            f"{r['units_per_payment']} units "
            f"per payment, {r['replayed_units_of_another_length']} replayed units of another "
            "length than recorded"
        )
        for i, one in enumerate(r["per_round"], 1):
            print(
                f"        round {i}: ratio {one['ratio']:.2f}x, library {one['library_ms']:.2f} "
                f"ms/payment = CPU {one['library_cpu_ms']:.2f} + waiting "
                f"{one['library_wait_ms']:.2f}; raw replay {one['raw_ms']:.2f} ms/payment"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
