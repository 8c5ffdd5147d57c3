"""Reconciling a province's year on PostgreSQL: 1, 3 or 10 million obligations, memory flat.

The year is generated set-based into a PostgreSQL schema of its own (``--keep`` keeps it,
else it is DROPped at the end): the roster is written as a CSV file (the library reads and
checks every line of it) while its payer ids are COPYed into a helper table, and the
journal's payments are made from that table by one ``INSERT ... SELECT`` per story — paid
through five channels (hall clerks with their operator), unpaid, declined, declined then
paid, partly debited, charged another grade, overpaid, paid twice, in doubt, refunded in
part, and strangers not on the roster. No settlement figures are recorded (every channel
is "unchecked"): ``reconcile_day.py`` measures those checks at county scale.

Measured per N, each side in a process of its own, rounds interleaved; peak memory is the
largest resident set of the process and its children together, sampled every 10 ms from
/proc (as ``reconcile_day.py`` does):

- **library**: ``reconcile(url, roster)`` (in the database, the default) and then writing
  details.csv, unpaid.csv, attention.csv, summary.json and report.html from the staged rows
  (``--notices streamed``: and the village notice lists, one at a time as ``iter_notices``
  makes them; ``--notices list``: built all at once first, as ``build_notices`` returns them).
- **baseline** ("bare pass"): the roster read with ``csv`` and COPYed into a temporary
  table, one SQL join counting paid / unpaid / other, and details streamed from a
  server-side cursor to a CSV file — the least an in-database reconciliation must do,
  with no checks, no categories, no totals.

- **against** (``--against SRC``, optional): the library side again with ``PYTHONPATH=SRC``
  (an export of an older tree, e.g. ``git archive main | tar -x -C /tmp/old``, then
  ``--against /tmp/old/src``), in the same rounds: the change measured side by side, its
  phases per obligation printed beside the new ones.

Disk: ``disk_mb_built`` (the schema's tables after the build) and ``disk_mb_reconciling``
(with the run's staged table, read right after ``reconcile()``), ``pg_total_relation_size``
per table. Each step's answer is also appended to ``steps.jsonl`` in ``--folder`` as it
finishes (without the tree's peak, which the rounds measure): a run stopped early keeps it.

Targets: library peak <= 500 MB whatever N.

    python benchmarks/reconcile_province.py --db postgresql://... [--payers 1000000 3000000]
        [--rounds 3] [--folder DIR] [--keep] [--json] [--notices streamed|list] [--against SRC]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import hwm_mb, schema_url, step

TARGET_MB = 500.0
SCHEMA = "pc_bench_province"
HEAD = "证件号码,姓名,苏木乡镇,嘎查村,险种,缴费档次,应缴金额,缴费期间,缴费方式\n"
REFERENCE = "2026:城乡居民基本养老保险"
GRADES = (("一档", 20000), ("二档", 30000), ("三档", 50000), ("四档", 80000))


def _payer(n: int) -> str:
    from paychannels.values.idnumbers import with_check_digit

    # a region code per 28,000 payers, a day of January 1960, a sequence: unique and valid
    region = 110000 + n // 28_000
    day = 19600101 + (n // 1000) % 28
    return with_check_digit(f"{region:06d}{day:08d}{n % 1000:03d}")


def build(base: str, folder: Path, payers: int, prefix: str = SCHEMA) -> dict[str, Any]:
    """The year: roster file, payer table, journal payments (set-based)."""
    import psycopg

    from paychannels.journal import open_journal

    schema = f"{prefix}_{payers}"
    roster = folder / f"roster-{payers}.csv"
    began = time.perf_counter()
    with psycopg.connect(base, autocommit=True) as db:
        db.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        db.execute(f"CREATE SCHEMA {schema}")
    url = schema_url(base, schema)
    with open_journal(url, create=True) as j:
        j.migrate()
    folder.mkdir(parents=True, exist_ok=True)
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(
            "CREATE UNLOGGED TABLE gen_payers (n BIGINT PRIMARY KEY, payer_id TEXT, owed BIGINT)"
        )
        with (
            roster.open("w", encoding="utf-8") as fh,
            db.cursor() as cur,
            cur.copy("COPY gen_payers (n, payer_id, owed) FROM STDIN") as copy,
        ):
            fh.write(HEAD)
            for n in range(1, payers + 1):
                pid = _payer(n)
                grade, owed = GRADES[n % 7 % 4]
                town = f"第{n // 100_000 % 100:02d}县第{n // 10_000 % 10}镇"
                village = f"第{n // 500 % 20:02d}村"
                fh.write(
                    f"{pid},张三,{town},{village},城乡居民基本养老保险,{grade},"
                    f"{owed // 100}.00,2026,hall\n"
                )
                copy.write_row((n, pid, owed))
            for n in range(payers + 1, payers + 1 + max(payers // 10_000, 1)):  # strangers
                copy.write_row((n, _payer(n), 20000))
        generated = time.perf_counter() - began
        _payments(db, payers)
        db.execute("ANALYZE pc_payments")
        rows = db.execute("SELECT COUNT(*) FROM pc_payments").fetchone()
    return {
        "schema": schema,
        "roster_mb": round(roster.stat().st_size / 1e6, 1),
        "payments": rows[0] if rows else 0,
        "disk_mb_built": disk_mb(url),
        "roster_and_payers_s": round(generated, 1),
        "built_in_s": round(time.perf_counter() - began, 1),
    }


def _payments(db: Any, payers: int) -> None:
    """One INSERT ... SELECT per story, by the payer's number mod 100."""
    cols = (
        "id, kind, parent_id, idempotency_key, fingerprint, channel, status, payer_id, "
        "reference, currency, amount_minor, taken_minor, request_json, attempt, "
        "created_at, updated_at, occurrence"
    )
    channel = "(ARRAY['hall-1','wx','ali','bank','hall-2'])[(n % 5)::int + 1]"
    operator = (
        'CASE WHEN n % 5 = 0 THEN \'{"operator": "柜员-王丽"}\' '
        "WHEN n % 5 = 4 THEN '{\"operator\": \"柜员-包巴特尔\"}' ELSE '{}' END"
    )
    at = "TIMESTAMPTZ '2026-01-05 01:00Z' + (n % 300000) * INTERVAL '60 seconds'"

    def insert(
        tag: str,
        where: str,
        status: str,
        amount: str,
        taken: str,
        *,
        occ: int = 1,
        chan: str = channel,
        late: str = "",
    ) -> None:
        db.execute(
            f"INSERT INTO pc_payments ({cols}) SELECT '{tag}' || n, 'payment', NULL, "
            f"'{tag}' || n, 'f', {chan}, '{status}', payer_id, '{REFERENCE}', 'CNY', "
            f"{amount}, {taken}, {operator}, 1, {at}{late}, {at}{late}, {occ} "
            f"FROM gen_payers WHERE {where}"
        )

    mine = f"n <= {payers}"
    insert("p", f"{mine} AND n % 100 < 80", "SUCCEEDED", "owed", "owed")
    insert("d", f"{mine} AND n % 100 BETWEEN 88 AND 93", "DECLINED", "owed", "NULL", chan="'bank'")
    insert(
        "p",
        f"{mine} AND n % 100 BETWEEN 92 AND 93",
        "SUCCEEDED",
        "owed",
        "owed",
        late=" + INTERVAL '1 day'",
    )
    insert("p", f"{mine} AND n % 100 = 94", "SUCCEEDED", "owed", "owed / 2", chan="'bank'")
    insert("p", f"{mine} AND n % 100 = 95", "SUCCEEDED", "owed + 10000", "owed + 10000")
    insert("p", f"{mine} AND n % 100 = 96", "SUCCEEDED", "owed", "owed + 3000")
    insert("p", f"{mine} AND n % 100 = 97", "SUCCEEDED", "owed", "owed")
    insert(
        "q",
        f"{mine} AND n % 100 = 97",
        "SUCCEEDED",
        "owed",
        "owed",
        occ=2,
        chan="'wx'",
        late=" + INTERVAL '2 days'",
    )
    insert("p", f"{mine} AND n % 100 = 98", "UNKNOWN", "owed", "NULL")
    insert("p", f"{mine} AND n % 100 = 99", "SUCCEEDED", "owed", "owed")
    insert("p", f"n > {payers}", "SUCCEEDED", "owed", "owed", chan="'wx'")
    db.execute(
        f"INSERT INTO pc_payments ({cols}) SELECT 'r' || n, 'refund', 'p' || n, 'r' || n, 'f', "
        f"{channel}, 'SUCCEEDED', payer_id, '{REFERENCE}', 'CNY', 5000, 5000, '{{}}', 1, "
        f"{at} + INTERVAL '3 days', {at} + INTERVAL '3 days', 1 FROM gen_payers "
        f"WHERE {mine} AND n % 100 = 99"
    )


def step_library(url: str, roster: Path, outputs: bool, notices: str = "") -> dict[str, Any]:
    """One reconciliation in the database (and its outputs, and with ``notices`` the village
    lists: ``streamed`` one at a time, or ``list``, all built first), in this process."""
    from paychannels.reconcile import reconcile
    from paychannels.reconcile.report import write_outputs

    began = time.perf_counter()
    rec = reconcile(url, roster)
    out: dict[str, Any] = {
        "seconds": time.perf_counter() - began,
        "phases": rec.timings,
        "obligations": rec.totals.obligations,
        "counts": rec.totals.counts,
        "not_in_roster": rec.outside.obligations,
        "concerns": len(rec.concerns),
        "own_peak_mb": hwm_mb(),
        "disk_mb": disk_mb(url),
    }
    _keep("library: reconciled", out, roster)  # the outputs of a province's year take long too
    if outputs:
        with tempfile.TemporaryDirectory(prefix="pc-bench-prov-") as tmp:
            began = time.perf_counter()
            write_outputs(rec, Path(tmp) / "reconciliation")
            out["outputs_seconds"] = time.perf_counter() - began
            out["own_peak_mb_before_notices"] = hwm_mb()
            if notices:
                out |= _notices(rec, Path(tmp) / "notices", notices)
    rec.close()
    out["own_peak_mb_with_outputs"] = hwm_mb()
    return out


def disk_mb(url: str) -> dict[str, float]:
    """MB on disk per table of the schema (``pg_total_relation_size``: with its indexes and
    TOAST), the run's staged table among them while it lives; ``all`` their sum."""
    import psycopg

    with psycopg.connect(url) as db:
        rows = db.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
            "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' "
            "ORDER BY 2 DESC"
        ).fetchall()
    sizes = {str(name): round(size / 1e6, 1) for name, size in rows}
    return {**sizes, "all": round(sum(size for _n, size in rows) / 1e6, 1)}


def _notices(rec: Any, folder: Path, how: str) -> dict[str, Any]:
    """The village lists written (as ``paychannels notice --level village`` does)."""
    from datetime import date

    from paychannels.documents.notices import Level, build_notices, iter_notices, write_notices

    began = time.perf_counter()
    made = (build_notices if how == "list" else iter_notices)(rec, Level.VILLAGE, county="旗")
    files = write_notices(made, folder, on=date(2026, 12, 31))
    return {"notices_seconds": time.perf_counter() - began, "notice_files": len(files)}


def step_baseline(url: str, roster: Path) -> dict[str, Any]:
    """The bare pass (see the module docstring)."""
    import psycopg

    began = time.perf_counter()
    with psycopg.connect(url) as db:
        db.execute("CREATE TEMP TABLE owed (payer_id TEXT, reference TEXT, owed BIGINT)")
        with (
            roster.open(encoding="utf-8", newline="") as fh,
            db.cursor() as cur,
            cur.copy("COPY owed FROM STDIN") as copy,
        ):
            lines = csv.reader(fh)
            head = next(lines)
            i_payer, i_kind = head.index("证件号码"), head.index("险种")
            i_owed, i_period = head.index("应缴金额"), head.index("缴费期间")
            for line in lines:
                copy.write_row(
                    (
                        line[i_payer],
                        f"{line[i_period]}:{line[i_kind]}",
                        int(line[i_owed].replace(".", "")),
                    )
                )
        db.execute("ANALYZE owed")
        joined = (
            "SELECT o.payer_id, o.reference, o.owed, COALESCE(g.got, 0) AS got FROM owed o "
            "LEFT JOIN (SELECT payer_id, reference, SUM(COALESCE(taken_minor, amount_minor)) "
            "AS got FROM pc_payments WHERE kind = 'payment' AND status = 'SUCCEEDED' "
            "GROUP BY payer_id, reference) g ON g.payer_id = o.payer_id "
            "AND g.reference = o.reference"
        )
        row = db.execute(
            f"SELECT SUM(CASE WHEN got = owed THEN 1 ELSE 0 END), "
            f"SUM(CASE WHEN got = 0 THEN 1 ELSE 0 END), COUNT(*) FROM ({joined}) x"
        ).fetchone()
        assert row is not None
        with (
            tempfile.TemporaryDirectory(prefix="pc-bench-base-") as tmp,
            open(Path(tmp) / "details.csv", "w", encoding="utf-8", newline="") as out,
            db.cursor(name="details") as cur,
        ):
            cur.itersize = 5000
            cur.execute(joined)
            csv.writer(out).writerows(cur)
    return {
        "seconds": time.perf_counter() - began,
        "paid": int(row[0]),
        "unpaid": int(row[1]),
        "other": int(row[2]) - int(row[0]) - int(row[1]),
        "own_peak_mb": hwm_mb(),
    }


def _child(*args: str, src: str = "") -> dict[str, Any]:
    """Run a step (``--step NAME ...``) in its own process, with its process tree's peak RSS;
    ``src``: with the library from that source tree instead of this one."""
    env = {**os.environ, "PYTHONPATH": src} if src else None
    return step(__file__, " ".join(args[:2]), *args, watch_tree=True, env=env)


def measure(
    url: str, roster: Path, rounds: int, notices: str = "", against: str = ""
) -> dict[str, Any]:
    """Interleaved rounds; outputs are written in every library round (they are the point),
    and the village lists with ``notices``; with ``against``, the older library too."""
    library, baseline, older = [], [], []
    lib_args = ("--step", "library", "--url", url, "--roster", str(roster))
    lib_args += ("--notices", notices) if notices else ()
    for _ in range(rounds):
        if against:
            older.append(_child(*lib_args, src=against))
        library.append(_child(*lib_args))
        baseline.append(_child("--step", "baseline", "--url", url, "--roster", str(roster)))
    lib = statistics.median(x["seconds"] for x in library)
    out_s = statistics.median(x["outputs_seconds"] for x in library)
    base = statistics.median(x["seconds"] for x in baseline)
    peak = max(x["tree_peak_mb"] for x in library)
    b = baseline[0]
    if library[0]["obligations"] != b["paid"] + b["unpaid"] + b["other"]:
        raise SystemExit(f"library and baseline disagree: {library[0]['counts']} {b}")
    return {
        "library_seconds": [round(x["seconds"], 1) for x in library],
        "outputs_seconds": [round(x["outputs_seconds"], 1) for x in library],
        "baseline_seconds": [round(x["seconds"], 1) for x in baseline],
        "library_median_s": round(lib, 1),
        "library_with_outputs_median_s": round(lib + out_s, 1),
        "baseline_median_s": round(base, 1),
        "ratio": round((lib + out_s) / base, 2),
        "library_peak_mb": round(peak, 1),
        "baseline_peak_mb": round(max(x["tree_peak_mb"] for x in baseline), 1),
        "phases": library[-1]["phases"],
        "obligations": library[0]["obligations"],
        "counts": library[0]["counts"],
        "not_in_roster": library[0]["not_in_roster"],
        "concerns": library[0]["concerns"],
        "disk_mb_reconciling": library[-1]["disk_mb"],
        "meets_target": peak <= TARGET_MB,
        "phases_us_per_obligation": _per_obligation(library),
        **(_notice_figures(library, notices) if notices else {}),
        **(_against(older, library) if older else {}),
    }


def _per_obligation(rounds: list[dict[str, Any]]) -> dict[str, float]:
    """Each phase's median over the rounds in microseconds per obligation (linear in N when
    these stay put from one N to the next); outputs as one more phase."""
    n = max(rounds[0]["obligations"], 1)
    names = dict.fromkeys(k for r in rounds for k in r["phases"])
    out = {
        k: round(statistics.median(r["phases"].get(k, 0.0) for r in rounds) * 1e6 / n, 1)
        for k in names
    }
    out["outputs"] = round(statistics.median(r["outputs_seconds"] for r in rounds) * 1e6 / n, 1)
    return out


def _against(older: list[dict[str, Any]], library: list[dict[str, Any]]) -> dict[str, Any]:
    """The older library's figures from the same rounds, and new / old."""
    if [o["counts"] for o in older[:1]] != [x["counts"] for x in library[:1]]:
        raise SystemExit(f"the two libraries disagree: {older[0]['counts']} {library[0]['counts']}")
    old = statistics.median(x["seconds"] + x["outputs_seconds"] for x in older)
    new = statistics.median(x["seconds"] + x["outputs_seconds"] for x in library)
    return {
        "against_seconds": [round(x["seconds"], 1) for x in older],
        "against_outputs_seconds": [round(x["outputs_seconds"], 1) for x in older],
        "against_with_outputs_median_s": round(old, 1),
        "against_peak_mb": round(max(x["tree_peak_mb"] for x in older), 1),
        "against_phases_us_per_obligation": _per_obligation(older),
        "new_over_against": round(new / old, 3),
    }


def _notice_figures(library: list[dict[str, Any]], how: str) -> dict[str, Any]:
    """What writing the village lists cost, and the process's peak before and after them."""
    return {
        "notices": how,
        "notice_files": library[0]["notice_files"],
        "notices_median_s": round(statistics.median(x["notices_seconds"] for x in library), 1),
        "own_peak_mb_before_notices": round(
            max(x["own_peak_mb_before_notices"] for x in library), 1
        ),
        "own_peak_mb_with_notices": round(max(x["own_peak_mb_with_outputs"] for x in library), 1),
    }


def _answer(name: str, answer: dict[str, Any], roster: Path) -> None:
    """A step's answer, on stdout for the rounds and kept in ``steps.jsonl``."""
    _keep(name, answer, roster)
    print(json.dumps(answer))


def _keep(name: str, answer: dict[str, Any], roster: Path) -> None:
    """Append a step's answer so far to ``steps.jsonl`` beside the roster (a 10,000,000
    round takes an hour: what finished is kept if the run is stopped). The process tree's
    peak is measured by the caller, not here."""
    line = json.dumps({"step": name, "roster": roster.name, "at": time.time(), **answer})
    with (roster.parent / "steps.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default=os.environ.get("PAYCHANNELS_TEST_PG", ""))
    parser.add_argument("--payers", type=int, nargs="+", default=[1_000_000, 3_000_000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "pc-prov")
    parser.add_argument("--keep", action="store_true", help="keep the schemas and rosters")
    parser.add_argument(
        "--schema", default=SCHEMA, help=f"schema name prefix (default {SCHEMA}; one per user)"
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--notices",
        choices=("streamed", "list"),
        help="also write the village notice lists: one at a time, or all built first",
    )
    parser.add_argument(
        "--against", default="", help="also run the library from this source tree (its src/)"
    )
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--roster", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step == "library":
        _answer(
            "library", step_library(args.url, args.roster, True, args.notices or ""), args.roster
        )
        return 0
    if args.step == "baseline":
        _answer("baseline", step_baseline(args.url, args.roster), args.roster)
        return 0
    if not args.db.startswith("postgresql"):
        raise SystemExit("--db postgresql://... (or PAYCHANNELS_TEST_PG) is needed")
    reports = []
    ok = True
    for n in args.payers:
        built = build(args.db, args.folder, n, args.schema)
        report: dict[str, Any] = {"payers": n, "load": os.getloadavg(), **built}
        try:
            url = schema_url(args.db, built["schema"])
            roster = args.folder / f"roster-{n}.csv"
            report |= measure(url, roster, args.rounds, args.notices or "", args.against)
            report["load_after"] = os.getloadavg()
        finally:
            if not args.keep:
                import psycopg

                with psycopg.connect(args.db, autocommit=True) as db:
                    db.execute(f"DROP SCHEMA IF EXISTS {built['schema']} CASCADE")
                (args.folder / f"roster-{n}.csv").unlink(missing_ok=True)
        ok = ok and report["meets_target"]
        reports.append(report)
        if not args.json:
            for key, value in report.items():
                print(f"{key}: {value}")
            print(
                f"{'meets' if report['meets_target'] else 'MISSES'} the target "
                f"(<= {TARGET_MB:.0f} MB peak) at {n:,}\n",
                flush=True,
            )
    if args.json:
        print(json.dumps(reports, ensure_ascii=False, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
