"""The bank day at county scale: ``paychannels batch build`` (journal + pain.008.001.08) of
30,000 and 300,000 bank payers, next to the bare writer on the same debits.

Each side runs in a process of its own, in interleaved rounds (the order alternates), and
reports its own wall time, CPU time (user + system, all threads), bytes it caused to be
written to disk (``/proc/self/io`` ``write_bytes``: the journal, its WAL and checkpoints,
the spool, the request file) and peak resident set (``VmHWM``). The script prints the
medians, the time per debit (flat in N when the path is linear) and the ratio build /
writer. Issue 16's targets for 300,000 on SQLite: <= 60 s wall, <= 1.5 GB written,
<= 400 MB peak.

- build: ``paychannels batch build --create`` on a new SQLite journal (WAL,
  ``synchronous=FULL``, the default) and a new exchange folder.
- writer (baseline): the roster read with ``csv``, one ``Debit`` per line, the request file
  planned and written by ``bankfiles.pain008.write_file`` — no journal, no checks of the
  roster, no spool, no recount.

The roster is generated once per size (valid resident ID numbers in a scattered order, as a
county's roster by village is; every payer pays by bank) and kept in ``--work``.

    python benchmarks/bank_build_scale.py [--sizes 30000,300000] [--huge] [--rounds 3] [--json]
    python benchmarks/bank_build_scale.py --pg postgresql://... --sizes 30000,300000,3000000
    python benchmarks/bank_build_scale.py --sizes 10000 --old /tmp/old  # git archive REV | tar -x
    python benchmarks/bank_build_scale.py --flush 40000 --files 1,20   # the spool's re-reads
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

CREDITOR = """[creditor]
name = "科尔沁右翼前旗社会保险事业管理局"
account = "15050171001234567890"
bank = "105191000011"
msg_prefix = "KYQ"
currency = "CNY"
"""


def _scatter(n: int) -> int:
    """A multiplier coprime with n near n/phi: i -> i*m mod n visits 0..n-1 scattered."""
    m = int(n * 0.6180339887) | 1
    while math.gcd(m, n) != 1:
        m += 2
    return m


def write_roster(path: Path, n: int) -> None:
    """n bank payers; ID numbers unique (birth day and sequence from a scattered index)."""
    from datetime import timedelta

    from paychannels.demo.roster_gen import write_bank_roster
    from paychannels.values.idnumbers import with_check_digit

    born0, m = date(1950, 1, 1), _scatter(n)

    def payer(j: int) -> str:
        born = born0 + timedelta(days=j // 1000)
        return with_check_digit(f"150422{born:%Y%m%d}{j % 1000:03d}")

    write_bank_roster(path, (payer(i * m % n) for i in range(n)))


# -- the two sides, each run in a child process ---------------------------------------------


def _own_figures(started: float) -> dict[str, Any]:
    io = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    status = Path("/proc/self/status").read_text()
    hwm = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    times = os.times()
    return {
        "wall": time.perf_counter() - started,
        "cpu": times.user + times.system,
        "written": int(io["write_bytes"]),
        "peak_mb": int(hwm.split()[1]) / 1024,
    }


def side_build(roster: Path, work: Path, db: str | None = None) -> dict[str, Any]:
    from paychannels.cli.main import main

    started = time.perf_counter()
    argv = [
        "batch",
        "build",
        "--format",
        "pain.008.001.08",
        "--creditor",
        str(work / "CREDITOR.toml"),
        "--db",
        db or f"sqlite:///{work / 'journal.db'}",
        "--create",
        "--roster",
        str(roster),
        "--out",
        str(work / "exchange"),
        "--json",
    ]
    with open(work / "summary.json", "w", encoding="utf-8") as out:
        sys.stdout, saved = out, sys.stdout
        try:
            code = main(argv)
        finally:
            sys.stdout = saved
    if code != 0:
        raise SystemExit(f"batch build failed ({code}); see {work / 'summary.json'}")
    figures = _own_figures(started)
    summary = json.loads((work / "summary.json").read_text("utf-8"))
    figures["debits"] = summary["pending"]
    return figures


def side_writer(roster: Path, work: Path) -> dict[str, Any]:
    from datetime import UTC, datetime

    from paychannels.bankfiles.model import Debit
    from paychannels.bankfiles.pain008 import write_file
    from paychannels.bankfiles.split import Limits, plan_files
    from paychannels.channels.bank import load_creditor

    started = time.perf_counter()
    creditor = load_creditor(work / "CREDITOR.toml")
    day, signed = date(2026, 12, 8), date(2025, 3, 1)
    debits = []
    with open(roster, encoding="utf-8", newline="") as fh:
        rows = csv.reader(fh)
        next(rows)
        for i, row in enumerate(rows):
            debits.append(
                Debit(
                    f"E2E{i:024d}",
                    int(row[6].replace(".", "")),
                    "CNY",
                    row[1],
                    row[9],
                    row[10],
                    row[11],
                    signed,
                    day,
                    "RCUR",
                    f"{row[4]} {row[7]}",
                )
            )
    files = plan_files([(day, "RCUR", [d.amount_minor for d in debits])], Limits())
    out = work / "exchange"
    out.mkdir(parents=True, exist_ok=True)
    totals, _sha = write_file(
        out / "BENCH.xml",
        format="pain.008.001.08",
        creditor=creditor,
        msg_id="KYQ20261207000001",
        created_at=datetime.now(UTC),
        batches=files[0],
        debits=iter(debits),
    )
    with open(out / "BENCH.xml", "rb+") as fh:
        os.fsync(fh.fileno())  # the build makes its file durable too
    figures = _own_figures(started)
    figures["debits"] = totals.count
    return figures


def side_flush(roster: Path, work: Path) -> dict[str, Any]:
    """The spool's re-reads: the debits of the roster journaled and spooled (not timed),
    then one flush cut into ``work/files`` request files (timed, with its bytes read)."""
    from paychannels import Collector
    from paychannels.bankfiles.model import Creditor
    from paychannels.bankfiles.split import Limits
    from paychannels.channels.bank import BankBatchChannel, load_creditor
    from paychannels.channels.bank.formats import open_format
    from paychannels.documents.roster import RosterEntry, iter_roster

    files = int((work / "files").read_text())
    entries = [e for e in iter_roster(roster) if isinstance(e, RosterEntry)]
    creditor: Creditor = load_creditor(work / "CREDITOR.toml")
    ch = BankBatchChannel(
        work / "exchange",
        format=open_format("pain.008.001.08"),
        creditor=creditor,
        limits=Limits(rows_per_file=-(-len(entries) // files)),
    )
    with Collector.open(f"sqlite:///{work / 'journal.db'}", create=True) as col:
        col.add_channel("bank", ch)
        for start in range(0, len(entries), 5000):
            col.collect_many([e.request("bank") for e in entries[start : start + 5000]], "bank")
        rchar = _io()["rchar"]
        started = time.perf_counter()
        sent = ch.flush(col.channel_context("bank"))
        wall = time.perf_counter() - started
        read = _io()["rchar"] - rchar
    return {"wall": wall, "read": read, "files": len(sent), "debits": sum(f.count for f in sent)}


def _io() -> dict[str, int]:
    lines = Path("/proc/self/io").read_text().splitlines()
    return {k: int(v) for k, v in (line.split(": ") for line in lines)}


SIDES = {"build": side_build, "writer": side_writer, "flush": side_flush}


def measure_flush(n: int, counts: list[int], rounds: int, root: Path) -> list[dict[str, Any]]:
    """A flush of n spooled debits into each number of files, medians of rounds."""
    roster = root / f"roster-{n}.csv"
    if not roster.exists():
        write_roster(roster, n)
    got: dict[int, list[dict[str, Any]]] = {c: [] for c in counts}
    for r in range(rounds):
        for files in counts if r % 2 == 0 else counts[::-1]:
            work = root / f"flush-{n}-{files}"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir()
            (work / "CREDITOR.toml").write_text(CREDITOR, encoding="utf-8")
            (work / "files").write_text(str(files))
            got[files].append(_child("flush", roster, work))
            shutil.rmtree(work, ignore_errors=True)
    return [
        {
            "debits": n,
            "files": files,
            "wall": statistics.median(g["wall"] for g in runs),
            "read_mb": statistics.median(g["read"] for g in runs) / 1e6,
        }
        for files, runs in got.items()
    ]


def _child(
    side: str, roster: Path, work: Path, pg: str | None = None, old: Path | None = None
) -> dict[str, Any]:
    """One side in its own process; ``old``: the build of the library tree there instead."""
    env = None
    if side == "old" and old is not None:  # the same command on another tree of the library
        env = {**os.environ, "PYTHONPATH": str(old / "src")}
        side = "build"
    argv = [sys.executable, __file__, "--side", side, "--roster", str(roster), "--work", str(work)]
    if side != "build" or pg is None:
        done = subprocess.run(argv, check=True, capture_output=True, text=True, env=env)
        result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
        return result
    import psycopg

    schema = f"bench_build_{uuid.uuid4().hex[:10]}"  # one fresh schema per round, dropped
    with psycopg.connect(pg, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        sep = "&" if "?" in pg else "?"
        url = f"{pg}{sep}options={quote(f'-csearch_path={schema}')}"
        done = subprocess.run(
            [*argv, "--pg", url], check=True, capture_output=True, text=True, env=env
        )
        result = json.loads(done.stdout.splitlines()[-1])
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT pg_total_relation_size('pc_payments') + "
                "pg_total_relation_size('pc_events') AS size"
            ).fetchone()
            result["db_bytes"] = int(row[0]) if row else 0
        return result
    finally:
        with psycopg.connect(pg, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def measure(
    n: int, rounds: int, root: Path, pg: str | None = None, old: Path | None = None
) -> dict[str, Any]:
    roster = root / f"roster-{n}.csv"
    if not roster.exists():
        write_roster(roster, n)
    runs: dict[str, list[dict[str, Any]]] = {"build": [], "writer": []}
    if old is not None:
        runs["old"] = []
    for r in range(rounds):
        order = list(runs) if r % 2 == 0 else list(reversed(runs))
        for side in order:
            work = root / f"{side}-{n}"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir()
            (work / "CREDITOR.toml").write_text(CREDITOR, encoding="utf-8")
            got = _child(side, roster, work, pg, old)
            if got["debits"] != n:
                raise SystemExit(f"{side} wrote {got['debits']} debits, not {n}")
            runs[side].append(got)
            shutil.rmtree(work, ignore_errors=True)
    out: dict[str, Any] = {"debits": n, "rounds": rounds, "journal": "postgres" if pg else "sqlite"}
    for side, got in runs.items():
        med = {
            k: statistics.median(g[k] for g in got) for k in ("wall", "cpu", "written", "peak_mb")
        }
        med["us_per_debit"] = med["wall"] / n * 1e6
        med["cpu_us_per_debit"] = med["cpu"] / n * 1e6
        med["walls"] = [round(g["wall"], 2) for g in got]
        out[side] = med
    out["ratio_wall"] = out["build"]["wall"] / out["writer"]["wall"]
    if "old" in out:
        out["ratio_old_cpu"] = out["build"]["cpu"] / out["old"]["cpu"]
    return out


def _print(results: list[dict[str, Any]]) -> None:
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (2 cores: {os.cpu_count()})")
    head = (
        f"{'debits':>9} {'side':<7} {'wall s':>8} {'CPU s':>8} {'written MB':>11} "
        f"{'peak MB':>8} {'µs/debit':>9} {'CPU µs/debit':>13}  rounds (wall s)"
    )
    print(head)
    for res in results:
        for side in [side for side in ("build", "old", "writer") if side in res]:
            m = res[side]
            print(
                f"{res['debits']:>9,} {side:<7} {m['wall']:>8.1f} {m['cpu']:>8.1f} "
                f"{m['written'] / 1e6:>11.0f} {m['peak_mb']:>8.0f} {m['us_per_debit']:>9.0f} "
                f"{m['cpu_us_per_debit']:>13.0f}  {m['walls']}"
            )
        print(
            f"{'':>9} ratio build / writer (median wall): {res['ratio_wall']:.1f}x "
            f"(journal: {res['journal']})"
        )
        if "ratio_old_cpu" in res:
            print(f"{'':>9} ratio build / old tree (median CPU): {res['ratio_old_cpu']:.2f}x")
    if len(results) > 1:  # linear: the time per debit stays put as N grows
        first, last = results[0]["build"], results[-1]["build"]
        print(
            f"build µs/debit {results[-1]['debits']:,} vs {results[0]['debits']:,}: wall "
            f"{last['us_per_debit'] / first['us_per_debit']:.2f}x, CPU "
            f"{last['cpu_us_per_debit'] / first['cpu_us_per_debit']:.2f}x (1.00x = linear)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="30000,300000")
    parser.add_argument("--huge", action="store_true", help="add 3,000,000 debits")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", type=Path, help="keep rosters here (default: a temp folder)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--flush",
        type=int,
        metavar="N",
        help="instead: time one flush of N spooled debits into --files request files",
    )
    parser.add_argument("--files", default="1,20", help="with --flush: file counts to compare")
    parser.add_argument("--side", choices=sorted(SIDES), help=argparse.SUPPRESS)
    parser.add_argument("--roster", type=Path, help=argparse.SUPPRESS)
    parser.add_argument(
        "--old",
        type=Path,
        help="a checkout or export of an older tree: its build runs interleaved as 'old'",
    )
    parser.add_argument(
        "--pg", help="a PostgreSQL URL: build there (one fresh schema per round, dropped after)"
    )
    args = parser.parse_args()
    if args.side == "build" and args.pg:
        print(json.dumps(side_build(args.roster, args.work, args.pg)))
        return
    if args.side:
        print(json.dumps(SIDES[args.side](args.roster, args.work)))
        return
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if args.huge:
        sizes.append(3_000_000)
    root = args.work or Path(tempfile.mkdtemp(prefix="bank-build-scale-"))
    root.mkdir(parents=True, exist_ok=True)
    if args.flush:
        flushes = measure_flush(
            args.flush, [int(c) for c in args.files.split(",")], args.rounds, root
        )
        for f in flushes:
            print(
                f"flush of {f['debits']:,} debits into {f['files']} files: {f['wall']:.2f} s, "
                f"{f['read_mb']:.0f} MB read (median of {args.rounds})"
            )
        return
    results = [measure(n, args.rounds, root, args.pg, args.old) for n in sizes]
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        _print(results)


if __name__ == "__main__":
    main()
