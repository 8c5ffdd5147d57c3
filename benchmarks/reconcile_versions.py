"""Two versions of the library reconciling the same county day, side by side, in CPU seconds.

On a machine others load, wall seconds say more about the load than about the code; CPU
seconds of the process and of the roster-reading child it starts (``getrusage``) say what
each version costs. Each side runs in a process of its own, rounds interleaved; ``--old``
names the ``src`` folder of an exported older commit (``git archive <commit> | tar -x -C
DIR``) and its day (a day that version can open: built by its own ``county_day.py``), the
current code runs on ``--day`` (a copy of that day migrated to today's schema, so that
both read the same rows).

    python benchmarks/reconcile_versions.py --old DIR/src --old-day DAY1 --day DAY2 [--rounds 3]
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
from pathlib import Path
from typing import Any


def step(folder: Path, in_database: bool | None) -> dict[str, Any]:
    """One reconciliation here: wall and CPU seconds, this process's and its children's."""
    from paychannels.reconcile import reconcile

    kw = {} if in_database is None else {"in_database": in_database}
    began = time.perf_counter()
    rec = reconcile(f"sqlite:///{folder}/journal.db", folder / "roster.csv", **kw)
    wall = time.perf_counter() - began
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "wall": round(wall, 2),
        "cpu_main": round(own.ru_utime + own.ru_stime, 2),
        "cpu_child": round(kids.ru_utime + kids.ru_stime, 2),
        "paid": rec.totals.counts.get("paid", 0),
        "phases": rec.timings,
    }


def _side(src: str | None, folder: Path, in_database: bool | None) -> dict[str, Any]:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src
    flag = {None: "default", True: "db", False: "client"}[in_database]
    out = subprocess.run(
        [sys.executable, __file__, "--step", str(folder), "--path", flag],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def main() -> int:
    """Interleaved rounds of both versions; each round's figures and the medians."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--old", help="the older version's src folder")
    parser.add_argument("--old-day", type=Path, help="a day the older version can open")
    parser.add_argument("--day", type=Path, help="the same day for the current code")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--step", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--path", default="client", choices=("default", "db", "client"))
    args = parser.parse_args()
    chosen = {"default": None, "db": True, "client": False}[args.path]
    if args.step:
        print(json.dumps(step(args.step, chosen)))
        return 0
    if not (args.old and args.old_day and args.day):
        parser.error("--old, --old-day and --day are needed")
    sides: dict[str, list[dict[str, Any]]] = {"old": [], "new": []}
    for r in range(args.rounds):
        load = os.getloadavg()[0]
        # the older version may not know in_database: its only path was the client's
        sides["old"].append(_side(args.old, args.old_day, None))
        sides["new"].append(_side(None, args.day, chosen))
        old, new = sides["old"][-1], sides["new"][-1]
        print(f"round {r + 1} (load {load:.1f}): old {old} | new {new}", flush=True)
        if old["paid"] != new["paid"]:
            raise SystemExit("the two versions disagree: not the same day")
    for name, runs in sides.items():
        medians = {
            k: statistics.median(x[k] for x in runs) for k in ("wall", "cpu_main", "cpu_child")
        }
        print(f"{name}: medians {medians}")
    print(f"load average at the end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
