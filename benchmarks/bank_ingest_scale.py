"""Ingesting a bank's result file at scale: a pain.002 answering N debits, applied to the journal.

Each size sets up a journal of N PENDING bank debits (attempt 1), the channel's ledger entry and
archive of the request file that held them, and the bank's pain.002 answering it (90 % settled,
10 % refused AM04). Then, each in its own process so peak RSS is its own:

* ``ours``: ``BankBatchChannel.report_for`` + ``Collector.apply_report`` — the path a user gets
  (checks against the request file, staging, set-based moves, events, the ledger record);
* ``baseline``: a bare lxml ``iterparse`` of the same file (end-to-end id, status, reason)
  plus a bare ``executemany`` of the same status updates on a copy of the same journal
  (no events, no checks: a floor, not a competitor).

* ``main`` (with ``--old SRC``): the same user path on another tree's code (``git archive main
  src | tar -x -C /tmp/ingest-old``, then ``--old /tmp/ingest-old/src``), imported through
  ``PYTHONPATH`` in its own process: the ratio says what this tree changed.

Rounds interleave (ours, baseline[, main], ours, ...) and medians are printed: wall, CPU, peak RSS,
time per item, and the ratio ours / baseline. ``--sizes 30000,300000`` on SQLite by default;
``--pg URL --sizes 3000000`` for PostgreSQL (one fresh schema per round, dropped after).
Also measured: how fast a file whose rows name payments we never sent is refused.

    python benchmarks/bank_ingest_scale.py [--sizes 30000,300000] [--rounds 5] [--json]
    python benchmarks/bank_ingest_scale.py --pg postgresql://... --sizes 3000000 --rounds 1
    python benchmarks/bank_ingest_scale.py --sizes 30000 --rounds 1 --read-sizes 300000,3000000
    python benchmarks/bank_ingest_scale.py --sizes 300000 --old /tmp/ingest-old/src
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from _common import step

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = date(2026, 3, 4)
MSG = "BENCH20260302000001"
AMOUNT = 38_000
_CHUNK = 5_000


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _channel(root: Path) -> Any:
    from paychannels.bankfiles.model import Creditor
    from paychannels.channels.bank import BankBatchChannel
    from paychannels.channels.bank.formats import open_format

    return BankBatchChannel(
        root / "exchange",
        format=open_format("pain.008.001.08"),
        creditor=Creditor(name="Office", account="1505017100123", bank="105191000011"),
    )


# -- set-up (its own process) ------------------------------------------------------------------


def _ulid(i: int) -> str:
    """A fixed, valid 26-character id per index (Crockford base 32), so runs are alike."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    out = []
    value = 0x1F3A5C7E9 * 10**9 + i
    for _ in range(26):
        value, digit = divmod(value, 32)
        out.append(alphabet[digit])
    return "".join(reversed(out))


def step_setup(db: str, root: Path, n: int, held: str) -> dict[str, Any]:
    """The journal, ledger, archive and result file of one round; ``held`` ``no``: the
    journal never held the payments (another county's journal on this folder)."""
    from paychannels import Collector, Money, PaymentRequest, Status
    from paychannels.bankfiles.ids import end_to_end_id
    from paychannels.bankfiles.model import Debit
    from paychannels.channels.bank.spool import to_line
    from paychannels.journal import Change, NewRecord
    from paychannels.simulators.bank.replies import TxReply, write_pain002

    start = time.perf_counter()
    exchange = root / "exchange"
    (exchange / "archive").mkdir(parents=True, exist_ok=True)
    ids = [f"pay_{_ulid(i)}" for i in range(n)]
    with (
        Collector.open(db, create=True) as col,
        open(exchange / "archive" / "bench.jsonl", "wb") as archive,
    ):
        for lo in range(0, n, _CHUNK):
            news, lines = [], []
            for i in range(lo, min(n, lo + _CHUNK)):
                r = PaymentRequest(
                    payer_id=f"P{i:08d}",
                    amount=Money.of_minor(AMOUNT, "CNY"),
                    reference="2026",
                    idempotency_key=f"bench-{i}",
                )
                news.append(NewRecord(ids[i], "payment", "bank", r, r.fingerprint("bank")))
                lines.append(
                    to_line(
                        Debit(
                            end_to_end_id(ids[i], 1),
                            AMOUNT,
                            "CNY",
                            f"Payer {i}",
                            f"6217000010{i:09d}",
                            "105191000011",
                            f"DK{i:010d}",
                            date(2025, 3, 1),
                            DAY,
                            payment_id=ids[i],
                            payer_id=f"P{i:08d}",
                        )
                    )
                )
            archive.write(b"".join(lines))
            if held == "no":
                continue
            col.journal.create_many(
                news,
                now=col.clock.now(),
                then=[
                    Change(to_status=Status.DISPATCHED, new_attempt=True),
                    Change(to_status=Status.PENDING),
                ],
            )
        entry = {
            "msg_id": MSG,
            "name": f"{MSG}.xml",
            "format": "pain.008.001.08",
            "sha256": "0" * 64,
            "count": n,
            "sum_minor": AMOUNT * n,
            "currency": "CNY",
            "created_at": AT.isoformat(),
            "collection_date": DAY.isoformat(),
            "archive": "bench.jsonl",
            "batches": [[f"{MSG}-001", 0, n, AMOUNT * n]],
        }
        col.journal.state_put("bank", f"file:{MSG}", entry, expected_version=0, now=col.clock.now())
    refs = (end_to_end_id(ids[i], 1) for i in range(n))
    replies = (
        TxReply(
            ref, "RJCT" if i % 10 == 0 else "ACSC", AMOUNT, "CNY", "AM04" if i % 10 == 0 else None
        )
        for i, ref in enumerate(refs)
    )
    with open(root / "PAIN002.xml", "w", encoding="utf-8") as out:
        write_pain002(
            out,
            version="10",
            msg_id="RPT1",
            created_at=AT,
            original_msg_id=MSG,
            original_message="pain.008.001.08",
            original_count=n,
            group_status="PART",
            batches=[(f"{MSG}-001", replies)],
        )
    return {"seconds": time.perf_counter() - start}


# -- the measured steps (each in its own process) ------------------------------------------------


def step_ours(db: str, root: Path) -> dict[str, Any]:
    from paychannels import Collector

    with Collector.open(db) as col:
        ch = _channel(root)
        col.add_channel("bank", ch)
        cpu, start = _cpu(), time.perf_counter()
        report = ch.report_for(root / "PAIN002.xml", col.channel_context("bank"), move=False)
        assert report is not None
        summary = col.apply_report("bank", report)
        wall = time.perf_counter() - start
        cpu = _cpu() - cpu
    return {
        "wall": wall,
        "cpu": cpu,
        "peak_mb": _peak_mb(),
        "moved": summary.moved,
        "unmatched": summary.unmatched,
        "error": summary.error,
    }


def result_report(col: Any, root: Path) -> Any:
    """The set-up's result file as the bank channel reads it (a channel added to ``col``)."""
    from paychannels.channels.bank.ingest import ResultFileReport, file_sha256
    from paychannels.channels.bank.ledger import Ledger

    ch = _channel(root)
    col.add_channel("bank", ch)
    path = root / "PAIN002.xml"
    return ResultFileReport(
        path=path,
        sha256=file_sha256(path),
        layout=None,
        ledger=Ledger(col.channel_context("bank")),
        exchange=ch.exchange,
        move=False,
    )


def step_read(db: str, root: Path) -> dict[str, Any]:
    """The reading side alone: every row of the result file read and checked against the
    request file (the journal only serves the ledger entry); its peak RSS at any N."""
    from paychannels import Collector

    with Collector.open(db) as col:
        cpu, start = _cpu(), time.perf_counter()
        report = result_report(col, root)
        rows = sum(1 for _row in report.rows())
        wall = time.perf_counter() - start
    return {"wall": wall, "cpu": _cpu() - cpu, "peak_mb": _peak_mb(), "rows": rows}


def _bare_rows(path: Path) -> Iterator[tuple[str, str, str | None]]:
    """(end-to-end id, status, reason) of each ``TxInfAndSts``: the least a reader must do."""
    from lxml import etree

    ns = "{urn:iso:std:iso:20022:tech:xsd:pain.002.001.10}"
    for _event, elem in etree.iterparse(str(path), tag=f"{ns}TxInfAndSts"):
        yield (
            elem.findtext(f"{ns}OrgnlEndToEndId") or "",
            elem.findtext(f"{ns}TxSts") or "",
            elem.findtext(f"{ns}StsRsnInf/{ns}Rsn/{ns}Cd"),
        )
        elem.clear()
        while elem.getprevious() is not None:
            del elem.getparent()[0]


def step_baseline(db: str, root: Path) -> dict[str, Any]:
    """iterparse + executemany of ``UPDATE pc_payments SET status, reason WHERE id``."""
    settled = {"ACSC": "SUCCEEDED", "RJCT": "DECLINED"}
    cpu, start = _cpu(), time.perf_counter()
    params = (
        (settled[status], reason, f"pay_{ref.rpartition('-')[0]}")
        for ref, status, reason in _bare_rows(root / "PAIN002.xml")
    )
    sql = "UPDATE pc_payments SET status = ?, reason_detail = ? WHERE id = ?"
    if db.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(db.removeprefix("sqlite:///"))
        conn.execute("PRAGMA journal_mode=WAL")
        with conn:
            conn.executemany(sql, params)
        conn.close()
    else:
        import psycopg

        with psycopg.connect(db) as conn, conn.cursor() as cur:
            cur.executemany(sql.replace("?", "%s"), params)
    wall = time.perf_counter() - start
    return {"wall": wall, "cpu": _cpu() - cpu, "peak_mb": _peak_mb()}


# -- orchestration ---------------------------------------------------------------------------------


OLD_SRC: str | None = None  # ``--old``: the tree the ``main`` side imports


def child(name: str, *args: str) -> dict[str, Any]:
    """A step in its own process; its JSON answer (a failed step ends the run). The ``main``
    side is the ``ours`` step run from the ``--old`` tree."""
    env = None
    if name == "main":
        env = {**os.environ, "PYTHONPATH": str(OLD_SRC)}
        name = "ours"
    return step(__file__, name, "--step", name, *args, env=env)


class Round:
    """A fresh journal: an SQLite file in a folder, or a PostgreSQL schema (dropped after)."""

    def __init__(self, pg: str | None, root: Path) -> None:
        self.pg, self.root = pg, root
        self.schema = f"bench_{uuid.uuid4().hex[:10]}"

    def __enter__(self) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.pg is None:
            return f"sqlite:///{self.root}/journal.db"
        import psycopg

        with psycopg.connect(self.pg, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {self.schema}")
        sep = "&" if "?" in self.pg else "?"
        return f"{self.pg}{sep}options={quote(f'-csearch_path={self.schema}')}"

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        if self.pg is not None:
            import psycopg

            with psycopg.connect(self.pg, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {self.schema} CASCADE")


def _sides() -> list[str]:
    return ["ours", "baseline", *(["main"] if OLD_SRC else [])]


def _sqlite_rounds(n: int, rounds: int, tmp: Path) -> dict[str, list[Any]]:
    """One set-up, copied for each round (SQLite: the journal is a file)."""
    template = tmp / f"template-{n}"
    runs: dict[str, list[Any]] = {side: [] for side in _sides()}
    with Round(None, template) as db:
        child("setup", db, str(template), str(n), "yes")
        for _ in range(rounds):
            for side, out in runs.items():
                work = tmp / "work"
                shutil.copytree(template, work)
                try:
                    out.append(child(side, f"sqlite:///{work}/journal.db", str(work)))
                finally:
                    shutil.rmtree(work, ignore_errors=True)
    return runs


def _pg_rounds(pg: str, n: int, rounds: int, tmp: Path) -> dict[str, list[Any]]:
    """A fresh schema and set-up for every run (PostgreSQL)."""
    runs: dict[str, list[Any]] = {side: [] for side in _sides()}
    for _ in range(rounds):
        for side, out in runs.items():
            root = tmp / uuid.uuid4().hex[:8]
            with Round(pg, root) as db:
                child("setup", db, str(root), str(n), "yes")
                out.append(child(side, db, str(root)))
    return runs


def _refused(pg: str | None, n: int, tmp: Path) -> dict[str, Any]:
    """The same result file on a journal that never held its payments."""
    root = tmp / uuid.uuid4().hex[:8]
    with Round(pg, root) as db:
        child("setup", db, str(root), str(n), "no")
        return child("ours", db, str(root))


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def measure(pg: str | None, n: int, rounds: int, tmp: Path) -> dict[str, Any]:
    sides = _sqlite_rounds(n, rounds, tmp) if pg is None else _pg_rounds(pg, n, rounds, tmp)
    ours = sides["ours"]
    refuse = _refused(pg, n, tmp)
    out: dict[str, Any] = {"n": n, "db": "postgresql" if pg else "sqlite", "rounds": rounds}
    for name, runs in sides.items():
        out[name] = {
            "wall_s": _median(runs, "wall"),
            "wall_range": [min(r["wall"] for r in runs), max(r["wall"] for r in runs)],
            "cpu_s": _median(runs, "cpu"),
            "peak_mb": _median(runs, "peak_mb"),
            "us_per_item": _median(runs, "wall") / n * 1e6,
            "cpu_us_per_item": _median(runs, "cpu") / n * 1e6,
        }
    out["ours"]["moved"] = ours[-1]["moved"]
    out["ratio"] = out["ours"]["wall_s"] / out["baseline"]["wall_s"]
    out["cpu_ratio"] = out["ours"]["cpu_s"] / out["baseline"]["cpu_s"]
    if "main" in out:
        out["main"]["moved"] = sides["main"][-1]["moved"]
        out["vs_main"] = out["ours"]["wall_s"] / out["main"]["wall_s"]
        out["cpu_vs_main"] = out["ours"]["cpu_s"] / out["main"]["cpu_s"]
    out["refused_unknown"] = {
        "wall_s": refuse["wall"],
        "peak_mb": refuse["peak_mb"],
        "error": (refuse["error"] or "")[:100],
    }
    return out


def _main_line(result: dict[str, Any]) -> str:
    if "main" not in result:
        return ""
    m = result["main"]
    return (
        f"  main      wall {m['wall_s']:6.2f} s ({m['wall_range'][0]:.2f}-{m['wall_range'][1]:.2f})"
        f"  cpu {m['cpu_s']:6.2f} s  peak {m['peak_mb']:6.0f} MB  moved {m['moved']}\n"
        f"  ratio ours/main wall {result['vs_main']:.2f}x, cpu {result['cpu_vs_main']:.2f}x\n"
    )


def _print(result: dict[str, Any]) -> None:
    n, o, b = result["n"], result["ours"], result["baseline"]
    print(
        f"{result['db']} n={n:,} rounds={result['rounds']}\n"
        f"  ours      wall {o['wall_s']:6.2f} s ({o['wall_range'][0]:.2f}-{o['wall_range'][1]:.2f})"
        f"  cpu {o['cpu_s']:6.2f} s  peak {o['peak_mb']:6.0f} MB  {o['us_per_item']:5.1f} us/item"
        f" ({o['cpu_us_per_item']:.1f} cpu)"
        f"  moved {o['moved']}\n"
        f"  baseline  wall {b['wall_s']:6.2f} s ({b['wall_range'][0]:.2f}-{b['wall_range'][1]:.2f})"
        f"  cpu {b['cpu_s']:6.2f} s  peak {b['peak_mb']:6.0f} MB  {b['us_per_item']:5.1f} us/item"
        f" ({b['cpu_us_per_item']:.1f} cpu)\n"
        f"  ratio ours/baseline wall {result['ratio']:.2f}x, cpu {result['cpu_ratio']:.2f}x\n"
        + _main_line(result)
        + f"  a journal without these payments refused the file after"
        f" {result['refused_unknown']['wall_s']:.2f} s"
        f" ({result['refused_unknown']['error']})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="30000,300000")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pg", help="a PostgreSQL URL: measure there (one schema per round)")
    parser.add_argument(
        "--read-sizes",
        default="",
        help="also the reading side alone (no journal writes) at these sizes, e.g. 3000000",
    )
    parser.add_argument("--old", help="another tree's src/ for a third side, 'main'")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        a = args.args
        steps = {
            "setup": lambda: step_setup(a[0], Path(a[1]), int(a[2]), a[3]),
            "ours": lambda: step_ours(a[0], Path(a[1])),
            "baseline": lambda: step_baseline(a[0], Path(a[1])),
            "read": lambda: step_read(a[0], Path(a[1])),
        }
        print(json.dumps(steps[args.step]()))
        return 0
    global OLD_SRC
    OLD_SRC = args.old
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} cores")
    results = []
    with tempfile.TemporaryDirectory(prefix="pc-bench-ingest-") as tmp:
        for n in (int(s) for s in args.sizes.split(",") if s):
            result = measure(args.pg, n, args.rounds, Path(tmp))
            results.append(result)
            if not args.json:
                _print(result)
        for n in (int(x) for x in args.read_sizes.split(",") if x):
            root = Path(tmp) / f"read-{n}"
            with Round(None, root) as db:
                child("setup", db, str(root), str(n), "no")
                read = child("read", db, str(root))
            results.append({"read_only": n, **read})
            if not args.json:
                print(
                    f"reading side alone n={n:,}: wall {read['wall']:.2f} s,"
                    f" cpu {read['cpu']:.2f} s, peak {read['peak_mb']:.0f} MB"
                )
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
