"""The demo day on PostgreSQL in one process and in N worker processes (``--workers N``).

Each run is a real ``paychannels demo --payers P --json --db <fresh schema>`` process (the
schema is created before and dropped after), in interleaved rounds (the order of the sides
turns each round). A side is ``0`` (no ``--workers``: the collection in the demo's own
process, as on SQLite) or N worker processes. Printed per run: wall time, the collection
phase, the slowest channel, CPU time of the demo and its children (user + system; then the
demo's own and its children's, as the demo counts them) and the load average when it
started; then per side the median and the ratio of its collection phase to side ``0``'s. A
run that does not balance is reported and counted as failed.

    python benchmarks/demo_workers.py --pg postgresql://postgres@127.0.0.1:55432/postgres \\
        [--payers 30000] [--workers 0,1,2,4] [--rounds 1] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from typing import Any

import psycopg
from _common import schema_url


def run_once(base: str, payers: int, workers: int) -> dict[str, Any]:
    """One demo day on a fresh schema; its figures."""
    schema = f"bench_demo_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    argv = [sys.executable, "-m", "paychannels.cli.main", "demo", "--payers", str(payers)]
    argv += ["--json", "--db", schema_url(base, schema)]
    if workers:
        argv += ["--workers", str(workers)]
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=7200)
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    try:
        summary = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return {"workers": workers, "balanced": False, "error": proc.stderr[-500:], "load": load}
    timings = summary["timings"]
    channels = {
        k[len("collection ") :]: v for k, v in timings.items() if k.startswith("collection ")
    }
    slowest = max(channels, key=channels.__getitem__)
    split = summary.get("cpu", {})  # the demo's own CPU and its children's (the workers)
    return {
        "workers": workers,
        "balanced": summary["balanced"] and proc.returncode == 0,
        "wall": round(wall, 1),
        "collection": timings["collection"],
        "slowest": f"{slowest} {channels[slowest]:.1f}",
        "cpu": round(cpu, 1),
        "cpu_demo": split.get("demo"),
        "cpu_children": split.get("children"),
        "load": round(load, 2),
    }


def main() -> None:
    """Run the rounds and print the runs, the medians and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=os.environ.get("PAYCHANNELS_TEST_PG"))
    parser.add_argument("--payers", type=int, default=30_000)
    parser.add_argument("--workers", default="0,1,2,4", help="sides: 0 = in one process")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not args.pg:
        parser.error("--pg (or $PAYCHANNELS_TEST_PG) names the PostgreSQL server")
    sides = [int(n) for n in args.workers.split(",")]
    runs: list[dict[str, Any]] = []
    for r in range(args.rounds):
        for n in sides if r % 2 == 0 else list(reversed(sides)):
            run = run_once(args.pg, args.payers, n)
            runs.append(run)
            print(json.dumps(run), flush=True)
    medians = {
        n: statistics.median([x["collection"] for x in runs if x["workers"] == n and x["balanced"]])
        for n in sides
        if any(x["workers"] == n and x["balanced"] for x in runs)
    }
    base = medians.get(sides[0])
    for n, m in medians.items():
        ratio = f"{base / m:.2f}x" if base else "n/a"
        label = "one process" if n == 0 else f"{n} worker(s)"
        print(f"{label:>12}: collection median {m:.1f} s, speed vs side {sides[0]}: {ratio}")
    print(
        f"load average now: {os.getloadavg()}; failed runs: {sum(not x['balanced'] for x in runs)}"
    )
    if args.json:
        print(json.dumps({"runs": runs, "medians": medians}))


if __name__ == "__main__":
    main()
