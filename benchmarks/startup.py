"""Start-up time of ``paychannels --version`` and ``--help`` against a bare interpreter.

Baseline, measured in the same run: ``python -c pass`` with the same interpreter. The runs are
interleaved (baseline, --version, --help, baseline, ...) so that load on the machine falls on
all three alike; the medians and the load average are printed. ``paychannels`` is the installed
console script next to this interpreter (the same a user types). Bytecode caching is on for the
runs, as in any installed package (``pip install`` compiles; ``PYTHONDONTWRITEBYTECODE`` is
dropped here, or every run would compile the sources again); ``--no-bytecode`` keeps it off.

    python benchmarks/startup.py [--runs 21] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def script() -> list[str]:
    """The ``paychannels`` console script of this interpreter's environment."""
    found = Path(sys.executable).with_name("paychannels")
    if found.exists():
        return [str(found)]
    which = shutil.which("paychannels")
    if which is None:
        raise SystemExit("no paychannels script: pip install -e . first")
    return [which]


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one run; CPU moves less with load."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True, timeout=60, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="runs of each (default 21)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-bytecode", action="store_true", help="compile on every run")
    args = parser.parse_args()
    env = dict(os.environ)
    if not args.no_bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    commands = {
        "python -c pass (baseline)": [sys.executable, "-c", "pass"],
        "paychannels --version": [*script(), "--version"],
        "paychannels --help": [*script(), "--help"],
    }
    for cmd in commands.values():  # warm the file cache and the .pyc files
        timed(cmd, env)
    wall: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, cmd in commands.items():
            w, c = timed(cmd, env)
            wall[name].append(w)
            cpu[name].append(c)
    result = {
        "runs": args.runs,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": sys.version.split()[0],
        "bytecode_cached": not args.no_bytecode,
        "median_wall_ms": {n: round(statistics.median(t) * 1000, 1) for n, t in wall.items()},
        "median_cpu_ms": {n: round(statistics.median(t) * 1000, 1) for n, t in cpu.items()},
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    cached = "bytecode cached" if not args.no_bytecode else "no bytecode cache"
    print(f"{args.runs} interleaved runs ({cached}), load average {result['load_average']}")
    base = "python -c pass (baseline)"
    for name in commands:
        w, c = result["median_wall_ms"][name], result["median_cpu_ms"][name]
        extra = "" if name == base else f"  (+{w - result['median_wall_ms'][base]:.0f} ms wall)"
        print(f"  {name:<28} median wall {w:4.0f} ms, cpu {c:4.0f} ms{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
