"""Where a 300,000-row pain.002 ingest spends its time: each part alone, in its own process.

``bank_ingest_scale.py`` measures the whole user path; this one takes it apart on the same
set-up (one journal of N PENDING bank debits, the request file's archive, the bank's pain.002),
so a target it misses can be traced to the part that bounds it:

* ``parse_floor``: lxml ``iterparse`` with ``tag=`` and the hardened settings, each
  ``TxInfAndSts`` cleared with its earlier siblings, nothing read out — the least any
  lxml reader pays;
* ``parse``: our reader (``read_pain002``): every item, with its checks;
* ``index``: the request file's index (``Members.of`` over the archive) and one lookup a row;
* ``read``: the whole reading side (``ResultFileReport.rows``: parse, match, rows);
* ``sql``: the set-based apply alone (``Journal.apply_results`` on rows read beforehand:
  staging, classify, events, payments);
* ``sql_status``: a bare ``executemany`` of ``UPDATE pc_payments SET status`` (the column
  four of the journal's indexes hold) — the floor of moving N payments;
* ``sql_plain``: the same of a column no index holds (``reason_detail``): what the
  indexes cost, by difference;
* ``ours``: the whole path (``report_for`` + ``apply_report``), as in ``bank_ingest_scale``.

Rounds interleave the parts; medians of wall, CPU and peak RSS are printed with the load
average. SQLite only (the parts that write copy one set-up per run).

    python benchmarks/bank_ingest_parts.py [--size 300000] [--rounds 5] [--parts a,b]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import step
from bank_ingest_scale import MSG, _cpu, _peak_mb, result_report, step_ours, step_setup

PARTS = ("parse_floor", "parse", "index", "read", "sql", "sql_status", "sql_plain", "ours")
_NS = "{urn:iso:std:iso:20022:tech:xsd:pain.002.001.10}"


def _timed(work: Any) -> dict[str, Any]:
    cpu, start = _cpu(), time.perf_counter()
    items = work()
    return {
        "wall": time.perf_counter() - start,
        "cpu": _cpu() - cpu,
        "peak_mb": _peak_mb(),
        "items": items,
    }


def part_parse_floor(_db: str, root: Path) -> dict[str, Any]:
    from paychannels.bankfiles.xmlread import safe_iterparse

    def work() -> int:
        n = 0
        for _event, elem in safe_iterparse(root / "PAIN002.xml", tags=(f"{_NS}TxInfAndSts",)):
            elem.clear(keep_tail=False)
            while elem.getprevious() is not None:
                del elem.getparent()[0]
            n += 1
        return n

    return _timed(work)


def part_parse(_db: str, root: Path) -> dict[str, Any]:
    from paychannels.bankfiles.pain002 import read_pain002

    return _timed(lambda: sum(1 for _item in read_pain002(root / "PAIN002.xml")))


def _entry(db: str) -> dict[str, Any]:
    from paychannels import Collector

    with Collector.open(db) as col:
        found = col.journal.state_get("bank", f"file:{MSG}")
    assert found is not None
    return dict(found.value)


def part_index(db: str, root: Path) -> dict[str, Any]:
    from paychannels.channels.bank.members import Members, archived_refs

    entry = _entry(db)
    archive = root / "exchange" / "archive" / entry["archive"]
    refs = [ref for _batch, ref in archived_refs(archive, entry)]  # the rows' ids, not timed

    def work() -> int:
        members = Members.of(archive, entry)
        return sum(1 for ref in refs if members.batch_of(ref) is not None)

    return _timed(work)


def part_read(db: str, root: Path) -> dict[str, Any]:
    from paychannels import Collector

    with Collector.open(db) as col:
        report = result_report(col, root)
        return _timed(lambda: sum(1 for _row in report.rows()))


def part_sql(db: str, root: Path) -> dict[str, Any]:
    from paychannels import Collector

    with Collector.open(db) as col:
        rows = list(result_report(col, root).rows())  # read first, not timed

        def work() -> int:
            moved = 0
            for done in col.journal.apply_results(
                iter(rows), channel="bank", via="result file PAIN002.xml", now=col.clock.now()
            ):
                moved += sum(done.moved.values())
            return moved

        return _timed(work)


def _bare_update(db: str, root: Path, column: str) -> dict[str, Any]:
    import sqlite3

    from paychannels import Collector

    with Collector.open(db) as col:
        pairs = [
            ("SUCCEEDED" if column == "status" else "ACSC", row.payment_id)
            for row in result_report(col, root).rows()
        ]
    conn = sqlite3.connect(db.removeprefix("sqlite:///"), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")

    def work() -> int:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(f"UPDATE pc_payments SET {column} = ? WHERE id = ?", pairs)
        conn.execute("COMMIT")
        return len(pairs)

    try:
        return _timed(work)
    finally:
        conn.close()


def part_sql_status(db: str, root: Path) -> dict[str, Any]:
    return _bare_update(db, root, "status")


def part_sql_plain(db: str, root: Path) -> dict[str, Any]:
    return _bare_update(db, root, "reason_detail")


def part_ours(db: str, root: Path) -> dict[str, Any]:
    out = step_ours(db, root)
    return {**out, "items": sum(out["moved"].values())}


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def measure(n: int, rounds: int, parts: list[str], tmp: Path) -> dict[str, list[dict[str, Any]]]:
    template = tmp / "template"
    template.mkdir()
    step(
        __file__,
        "setup",
        "--step",
        "setup",
        f"sqlite:///{template}/journal.db",
        str(template),
        str(n),
        "yes",
    )
    runs: dict[str, list[dict[str, Any]]] = {p: [] for p in parts}
    for _ in range(rounds):
        for part in parts:
            work = tmp / "work"
            shutil.copytree(template, work)
            try:
                db = f"sqlite:///{work}/journal.db"
                got = step(__file__, part, "--step", part, db, str(work))
            finally:
                shutil.rmtree(work, ignore_errors=True)
            runs[part].append({**got, "load": os.getloadavg()[0]})
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        a = args.args
        if args.step == "setup":
            print(json.dumps(step_setup(a[0], Path(a[1]), int(a[2]), a[3])))
        else:
            print(json.dumps(globals()[f"part_{args.step}"](a[0], Path(a[1]))))
        return 0
    parts = [p for p in args.parts.split(",") if p]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown parts {unknown}; the parts are {', '.join(PARTS)}")
    print(f"load average {_load()} at the start, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="pc-bench-parts-") as tmp:
        runs = measure(args.size, args.rounds, parts, Path(tmp))
    print(f"sqlite n={args.size:,} rounds={args.rounds}; load average {_load()} at the end")
    summary = {}
    for part, got in runs.items():
        med = {k: statistics.median(r[k] for r in got) for k in ("wall", "cpu", "peak_mb")}
        summary[part] = {**med, "items": got[-1]["items"], "runs": got}
        print(
            f"  {part:<12} wall {med['wall']:6.2f} s ({min(r['wall'] for r in got):.2f}-"
            f"{max(r['wall'] for r in got):.2f})  cpu {med['cpu']:6.2f} s"
            f"  peak {med['peak_mb']:5.0f} MB  {med['cpu'] / args.size * 1e6:5.1f} us cpu/item"
            f"  items {got[-1]['items']}"
        )
    if args.json:
        print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
