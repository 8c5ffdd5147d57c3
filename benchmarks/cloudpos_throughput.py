"""Sequential payments through the Collector against the cloud-terminal simulator (nexo, sync).

The simulator (``paychannels-sim terminal --nexo``) runs in its own process with zero
cardholder delay. Measured in the same run, interleaved round by round:

* **library**: ``Collector.collect()`` (SQLite journal in WAL, ``synchronous=FULL``) through
  a ``nexo+http`` channel in sync mode, N payments one after another — journal intent and
  dispatch mark, the ServiceID claim, the request, the answer read into an outcome (receipts
  included), the outcome journaled;
* **bare httpx** (baseline): the same JSON (one PaymentRequest per payment, each with its own
  ServiceID and transaction id, built before the clock starts) posted N times with one
  pooled ``httpx.Client``, the answer read as bytes.

The ratio library / bare is what the library costs over just talking to the cloud.

    python benchmarks/cloudpos_throughput.py --payments 2000 [--rounds 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from typing import Any

import httpx
from payers import bench_request  # benchmarks/payers.py

from paychannels import Collector, Money, Payment, Status
from paychannels.drivers.nexo import CloudPosChannel, build, encode

API_KEY = "AQEyhmfxK4-benchmark-api-key-0123456789"
POIID = "P400Plus-275039202"


def start_simulator() -> tuple[subprocess.Popen[str], str]:
    cmd = [sys.executable, "-m", "paychannels.simulators.cli", "terminal"]
    cmd += ["--nexo", "127.0.0.1:0", "--poi", POIID, "--json"]
    env = {**os.environ, "PAYCHANNELS_SIM_API_KEY": API_KEY}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    return proc, json.loads(proc.stdout.readline())["nexo"]


class Library:
    """A Collector with a ``nexo`` channel in sync mode, warmed up."""

    def __init__(self, base: str, db: str) -> None:
        self.col = Collector.open(db, create=True)
        url = f"nexo+{base}/?poi={POIID}&mode=sync&timeout=30"
        channel = self.col.add_channel("cloud", url, api_key=API_KEY)
        assert isinstance(channel, CloudPosChannel)
        self._next = 0
        self.run(20)

    def run(self, n: int) -> float:
        """Seconds for ``n`` more payments."""
        start = time.perf_counter()
        for i in range(self._next, self._next + n):
            payment = self.col.collect(bench_request(i), channel="cloud")
            assert payment.status is Status.SUCCEEDED, payment.reason_detail
        self._next += n
        return time.perf_counter() - start


class Bare:
    """The same JSON posted with a bare pooled httpx client."""

    def __init__(self, base: str) -> None:
        self.client = httpx.Client(
            base_url=base, headers={"x-api-key": API_KEY, "Content-Type": "application/json"}
        )
        self.who = build.Identity(sale_id=f"bare-{time.time_ns()}", poiid=POIID)
        self._next = 0
        self.run(20)

    def bodies(self, n: int) -> list[bytes]:
        now = datetime.now(UTC)
        out = []
        for i in range(self._next, self._next + n):
            record = Payment(
                id=f"pay_BARE{i:022d}",
                status=Status.DISPATCHED,
                channel="bare",
                payer_id="p",
                reference="r",
                amount=Money("380.00", "CNY"),
                idempotency_key=f"bare-{i}",
                created_at=now,
                updated_at=now,
            )
            out.append(encode(build.payment_request(self.who, f"B{i:09d}", record, now)))
        self._next += n
        return out

    def run(self, n: int) -> float:
        bodies = self.bodies(n)
        start = time.perf_counter()
        for body in bodies:
            response = self.client.post("/sync", content=body)
            assert response.status_code == 200 and b'"Success"' in response.content
        return time.perf_counter() - start


def measure(base: str, n: int, rounds: int, synchronous: str) -> dict[str, Any]:
    per_round = n // rounds
    with tempfile.TemporaryDirectory() as tmp:
        library = Library(base, f"sqlite:///{tmp}/journal.db?synchronous={synchronous}")
        bare = Bare(base)
        lib: list[float] = []
        raw: list[float] = []
        try:
            for _ in range(rounds):
                lib.append(library.run(per_round))
                raw.append(bare.run(per_round))
        finally:
            library.col.close()
            bare.client.close()
    ratios = sorted(a / b for a, b in zip(lib, raw, strict=True))
    done, total_lib, total_raw = per_round * rounds, sum(lib), sum(raw)
    return {
        "journal": f"SQLite WAL synchronous={synchronous}",
        "payments": done,
        "library_payments_per_s": round(done / total_lib, 1),
        "bare_payments_per_s": round(done / total_raw, 1),
        "library_ms": round(1000 * total_lib / done, 3),
        "bare_ms": round(1000 * total_raw / done, 3),
        "overhead_ms": round(1000 * (total_lib - total_raw) / done, 3),
        "ratio": round(total_lib / total_raw, 2),
        "ratio_median_of_rounds": round(ratios[len(ratios) // 2], 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--payments", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved slices")
    parser.add_argument(
        "--synchronous",
        default="full,normal",
        help="SQLite durability of the journal, comma-separated (full: fsync per commit)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    proc, base = start_simulator()
    try:
        results = [
            measure(base, args.payments, args.rounds, mode.strip())
            for mode in args.synchronous.split(",")
        ]
    finally:
        proc.terminate()
        proc.wait(10)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(
        f"{results[0]['payments']} sequential payments per journal mode, cloud simulator in its "
        f"own process (sync mode), {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}"
    )
    for r in results:
        print(
            f"{r['journal']}: library {r['library_payments_per_s']:.1f}/s "
            f"({r['library_ms']:.2f} ms)  bare httpx {r['bare_payments_per_s']:.1f}/s "
            f"({r['bare_ms']:.2f} ms)  overhead {r['overhead_ms']:.2f} ms/payment  "
            f"ratio {r['ratio']:.2f}x (median of rounds {r['ratio_median_of_rounds']:.2f}x; "
            "target <= 2x)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
