"""Reconciling a county's day: 300,000 payers against 300,000 receipts over every channel.

The day (``county_day.py``: two ZVT terminals with end-of-day totals, WeChat Pay and Alipay
with their bills, bank debit with result files; every category present) is built once into
a SQLite journal and a roster (by a child process), then measured in rounds, each side in a
process of its own. Peak memory is the largest resident set the process and its children
had together, sampled every 10 ms from /proc by this parent (``ru_maxrss`` will not do: a
child inherits the high-water mark of the process that forked it), and each process's own
high-water mark (``VmHWM``) is reported beside it:

- **library**: ``reconcile(journal URL, roster, in_database=True)`` — roster read and
  checked (ID check digits, every field) and staged beside the journal, the join, the
  categories and the totals per township, period and village in SQL, settlement checks,
  totals per channel and operator (``--in-process``: the former path, everything in
  Python dicts with the roster read by a second process, measured as a third side).
- **baseline** ("bare pass"): the same journal rows read with ``sqlite3`` and summed per
  payer in a dict, the roster read with ``csv`` and each owed amount compared with what was
  summed — the least any reconciliation must do, with no checks and no settlement figures.

Targets: library <= 5 s and <= 500 MB peak on this machine's 2 cores. Also reported, not
timed against a target: writing the outputs (details.csv, attention.csv, summary.json, the
HTML report) and the village notice lists.

    python benchmarks/reconcile_day.py [--payers 300000] [--rounds 5] [--folder DIR] [--json]
        [--in-process]
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from _common import hwm_mb, step

TARGET_SECONDS = 5.0
TARGET_MB = 500.0


def step_library(folder: Path, outputs: bool, *, in_database: bool = True) -> dict[str, Any]:
    """One reconciliation (and, if asked, its outputs), in this process."""
    from paychannels.documents.notices import Level, iter_notices, write_notices
    from paychannels.reconcile import reconcile
    from paychannels.reconcile.report import write_outputs

    db, roster = folder / "journal.db", folder / "roster.csv"
    began = time.perf_counter()
    rec = reconcile(f"sqlite:///{db}", roster, in_database=in_database)
    seconds = time.perf_counter() - began
    out: dict[str, Any] = {
        "seconds": seconds,
        "own_peak_mb": hwm_mb(),
        "phases": rec.timings,
        "obligations": rec.totals.obligations,
        "journal_rows": rec.journal_rows,
        "counts": rec.totals.counts,
        "not_in_roster": rec.outside.obligations,
        "settlements": {c.channel: c.status for c in rec.checks},
        "received_minor": rec.totals.received_minor,
    }
    if outputs:
        with tempfile.TemporaryDirectory(prefix="pc-bench-out-") as tmp:
            began = time.perf_counter()
            write_outputs(rec, Path(tmp) / "reconciliation")
            out["outputs_seconds"] = time.perf_counter() - began
            began = time.perf_counter()
            notices = iter_notices(rec, Level.VILLAGE, county="科尔沁右翼前旗")  # one at a time
            files = write_notices(notices, Path(tmp) / "notices", on=date(2026, 3, 3))
            out["notices_seconds"] = time.perf_counter() - began
            out["notice_files"] = len(files)
        out["own_peak_mb_with_outputs"] = hwm_mb()
    rec.close()
    return out


def step_baseline(folder: Path) -> dict[str, Any]:
    """The bare pass: journal rows summed per payer, the roster compared with the sums."""
    import sqlite3

    began = time.perf_counter()
    received: dict[tuple[str, str], int] = {}
    db = sqlite3.connect(f"file:{folder / 'journal.db'}?mode=ro", uri=True)
    rows = db.execute(
        "SELECT payer_id, reference, COALESCE(taken_minor, amount_minor) FROM pc_payments "
        "WHERE kind = 'payment' AND status = 'SUCCEEDED'"
    )
    get = received.get
    for payer, reference, minor in rows:
        key = (payer, reference)
        received[key] = get(key, 0) + minor
    db.close()
    paid = unpaid = other = 0
    with (folder / "roster.csv").open(encoding="utf-8-sig", newline="") as fh:
        lines = csv.reader(fh)
        head = next(lines)
        i_payer, i_kind = head.index("证件号码"), head.index("险种")
        i_owed, i_period = head.index("应缴金额"), head.index("缴费期间")
        for line in lines:
            owed = int(line[i_owed].replace(".", ""))
            got = received.get((line[i_payer], f"{line[i_period]}:{line[i_kind]}"), 0)
            if got == owed:
                paid += 1
            elif got == 0:
                unpaid += 1
            else:
                other += 1
    return {
        "seconds": time.perf_counter() - began,
        "own_peak_mb": hwm_mb(),
        "paid": paid,
        "unpaid": unpaid,
        "other": other,
    }


def _child(name: str, folder: Path, *extra: str) -> dict[str, Any]:
    """Run a step in its own process; its answer, with the peak RSS of its process tree."""
    args = ("--step", name, "--folder", str(folder), *extra)
    return step(__file__, name, *args, watch_tree=True)


def measure(folder: Path, rounds: int, *, in_process: bool = False) -> dict[str, Any]:
    """Interleaved rounds of both sides (the machine's load drifts); the medians."""
    library: list[dict[str, Any]] = []
    baseline: list[dict[str, Any]] = []
    former: list[dict[str, Any]] = []
    for r in range(rounds):
        library.append(_child("library", folder, *(["--outputs"] if r == 0 else [])))
        baseline.append(_child("baseline", folder))
        if in_process:
            former.append(_child("in_process", folder, *(["--outputs"] if r == 0 else [])))
    lib_s = statistics.median(x["seconds"] for x in library)
    base_s = statistics.median(x["seconds"] for x in baseline)
    peak = max(x["tree_peak_mb"] for x in library[1:] or library)  # outputs excluded
    first = library[0]
    if first["counts"].get("paid", 0) != baseline[0]["paid"]:
        raise SystemExit(f"library and baseline disagree: {first['counts']} vs {baseline[0]}")
    return {
        "library_seconds": [round(x["seconds"], 3) for x in library],
        "baseline_seconds": [round(x["seconds"], 3) for x in baseline],
        "library_median_s": round(lib_s, 3),
        "baseline_median_s": round(base_s, 3),
        "ratio": round(lib_s / base_s, 2),
        "library_peak_mb": round(peak, 1),
        "library_main_process_peak_mb": round(
            max(x["own_peak_mb"] for x in library[1:] or library), 1
        ),
        "baseline_peak_mb": round(max(x["tree_peak_mb"] for x in baseline), 1),
        "phases": library[-1]["phases"],
        "outputs_seconds": round(first["outputs_seconds"], 3),
        "notices_seconds": round(first["notices_seconds"], 3),
        "notice_files": first["notice_files"],
        "peak_mb_with_outputs": round(first["tree_peak_mb"], 1),
        "obligations": first["obligations"],
        "journal_rows": first["journal_rows"],
        "counts": first["counts"],
        "settlements": first["settlements"],
        "meets_targets": lib_s <= TARGET_SECONDS and peak <= TARGET_MB,
        **(_former(former) if former else {}),
    }


def _former(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The in-process path's figures, measured in the same rounds."""
    return {
        "in_process_seconds": [round(x["seconds"], 3) for x in runs],
        "in_process_median_s": round(statistics.median(x["seconds"] for x in runs), 3),
        "in_process_peak_mb": round(max(x["tree_peak_mb"] for x in runs[1:] or runs), 1),
        "in_process_outputs_seconds": round(runs[0]["outputs_seconds"], 3),
    }


def main() -> int:
    """Build (or reuse) the day, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--payers", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--folder", type=Path, help="where the day is kept (default: a folder under /tmp)"
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--in-process", action="store_true", help="also measure the former in-process path"
    )
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--outputs", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = args.folder or Path(tempfile.gettempdir()) / f"pc-bench-reconcile-{args.payers}"
    if args.step == "library":
        print(json.dumps(step_library(folder, args.outputs)))
        return 0
    if args.step == "in_process":
        print(json.dumps(step_library(folder, args.outputs, in_database=False)))
        return 0
    if args.step == "baseline":
        print(json.dumps(step_baseline(folder)))
        return 0
    if args.step == "build":  # in a process of its own: this one stays small
        from county_day import build_day

        day = build_day(folder, args.payers)
        print(json.dumps({"built_in_s": round(day.seconds, 1), "outcomes": dict(day.outcomes)}))
        return 0
    report: dict[str, Any] = {"payers": args.payers, "folder": str(folder)}
    built = _child("build", folder, "--payers", str(args.payers))
    if built["built_in_s"]:
        report |= {k: built[k] for k in ("built_in_s", "outcomes")}
    report |= measure(folder, args.rounds, in_process=args.in_process)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        for key, value in report.items():
            print(f"{key}: {value}")
        verdict = "meets" if report["meets_targets"] else "MISSES"
        print(f"{verdict} the targets (<= {TARGET_SECONDS} s, <= {TARGET_MB:.0f} MB)")
    return 0 if report["meets_targets"] else 1


if __name__ == "__main__":
    sys.exit(main())
