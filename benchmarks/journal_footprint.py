"""What a journal costs on disk and in connections per payment, written the way a user writes.

Each backend runs in a process of its own: N payments through ``Collector.collect_many`` on
the memory channel (the real write path: intent + claim in one commit, the outcome in the
next, an event per step), in chunks as a backend would hand them over. Then it measures, from
the database's own catalog, the bytes of every table and index (PostgreSQL:
``pg_table_size`` / ``pg_relation_size`` summed over partitions; SQLite: ``dbstat`` and the
file), and from ``/proc`` the connections the process holds: TCP sockets to the server or
descriptors of the database file, with one thread and with four more threads writing.

The baseline beside each backend is the bare row: the bytes of the request's own values
(what a CSV line of it would take), so the ratio says what the journal's rows, events and
indexes cost over the data itself.

    python benchmarks/journal_footprint.py --payments 1000000 --backends sqlite,postgres,partitioned
        [--pg postgresql://...] [--chunk 10000] [--json]

PostgreSQL comes from ``--pg`` or ``$PAYCHANNELS_TEST_PG``; each run gets a fresh schema that
is dropped at the end (``--keep`` leaves it). SQLite writes into a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from _common import schema_url

from paychannels import Collector, MemoryChannel, Money, PaymentRequest

TABLES = ("pc_payments", "pc_events", "pc_channel_state", "pc_locks", "pc_meta")
TOWNSHIPS = ("城关镇", "新华镇", "红旗乡", "东风乡", "团结镇", "胜利乡")


def requests(start: int, stop: int) -> Iterator[PaymentRequest]:
    """A county's roster lines as a backend sends them: ID number, name, village, period."""
    for i in range(start, stop):
        town = TOWNSHIPS[i % len(TOWNSHIPS)]
        yield PaymentRequest(
            payer_id=f"15{i // 1000 % 10_000:04d}{1950 + i % 60}0101{i % 1000:03d}X",
            amount=Money.of_minor(38_000 + 10_000 * (i % 3), "CNY"),
            reference="2026-城乡居民养老保险",
            idempotency_key=f"roster-2026:{i}",
            payer_name="张三丰" if i % 2 else "乌云其木格",
            region=f"某县/{town}/第{i % 40 + 1}村",
            period="2026",
            operator="clerk-7",
        )


def bare_bytes(n: int) -> int:
    """The request's own values as UTF-8, one CSV line each (the floor for the ratio)."""
    total = 0
    for r in requests(0, n):
        fields = (
            r.payer_id,
            str(r.amount.minor),
            "CNY",
            r.reference,
            r.idempotency_key,
            r.payer_name or "",
            r.region or "",
            r.period or "",
            r.operator or "",
        )
        total += len(",".join(fields).encode()) + 1
    return total


# -- connections, seen from /proc ----------------------------------------------------------


def _socket_inodes() -> set[str]:
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def pg_connections(port: int) -> int:
    """TCP connections this process holds to the server's port."""
    ours = _socket_inodes()
    count = 0
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        with open(table) as fh:
            next(fh)
            for line in fh:
                cols = line.split()
                remote_port = int(cols[2].rsplit(":", 1)[1], 16)
                if remote_port == port and cols[3] == "01" and cols[9] in ours:
                    count += 1
    return count


def sqlite_connections(path: str) -> int:
    """Open descriptors of the database file (one per SQLite connection)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == path:
                count += 1
        except OSError:
            continue
    return count


def connections_with_threads(col: Collector, count: Any, threads: int) -> dict[str, int]:
    """Connections held: main thread only; with ``threads`` more writing; after they ended."""
    seen = {"one thread": count()}
    ready = threading.Barrier(threads + 1, timeout=60)
    done = threading.Event()

    def worker(k: int) -> None:
        col.collect_many(list(requests(9_990_000 + k, 9_990_001 + k)), channel="memory")
        ready.wait()
        done.wait(60)

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    ready.wait()
    seen[f"{threads} more threads writing"] = count()
    done.set()
    for t in pool:
        t.join(60)
    seen["after those threads ended"] = count()
    return seen


# -- sizes, from the catalog --------------------------------------------------------------


# a relation and, if it is partitioned, its partitions (a plain table has no tree)
_TREE = "SELECT relid AS r FROM pg_partition_tree(%s::regclass) UNION SELECT %s::regclass"


def pg_sizes(url: str) -> dict[str, dict[str, int]]:
    """Per table: heap (with TOAST) and each index, summed over partitions."""
    import psycopg

    out: dict[str, dict[str, int]] = {}
    with psycopg.connect(url) as conn:
        for table in TABLES:
            heap = conn.execute(
                f"SELECT COALESCE(SUM(pg_table_size(r)), 0) FROM ({_TREE}) t",
                (table, table),
            ).fetchone()
            sizes = {"table": int(heap[0]) if heap else 0}
            for (index,) in conn.execute(
                "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = %s::regclass",
                (table,),
            ).fetchall():
                row = conn.execute(
                    f"SELECT COALESCE(SUM(pg_relation_size(r)), 0) FROM ({_TREE}) t",
                    (index, index),
                ).fetchone()
                sizes[index.rsplit(".", 1)[-1]] = int(row[0]) if row else 0
            out[table] = sizes
        extra = conn.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r' AND NOT c.relispartition "
            "AND c.relname <> ALL(%s)",
            (list(TABLES),),
        ).fetchall()
        for name, size in extra:
            out[name] = {"table": int(size)}
    return out


def row_counts(connect: Any) -> dict[str, int]:
    """Rows of the payments and events tables (a DB-API connection factory)."""
    conn = connect()
    try:
        return {
            t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0])
            for t in ("pc_payments", "pc_events")
        }
    finally:
        conn.close()


def sqlite_sizes(path: str) -> dict[str, dict[str, int]]:
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        owner = dict(conn.execute("SELECT name, tbl_name FROM sqlite_master").fetchall())
        out: dict[str, dict[str, int]] = {}
        for name, size in conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"):
            table = owner.get(name, name)
            key = "table" if table == name else name
            out.setdefault(table, {})[key] = int(size)
        return out
    finally:
        conn.close()


# -- one backend in this process -----------------------------------------------------------


@contextmanager
def pg_schema(base: str, keep: bool) -> Iterator[str]:
    import psycopg

    schema = f"fp_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield schema_url(base, schema)
    finally:
        if not keep:
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")


def time_reads(col: Collector, n: int, count: int = 2000) -> dict[str, float]:
    """Median µs of the reads a backend does most, on payments spread over the journal."""
    keys = [f"roster-2026:{(i * 7919) % n}" for i in range(count)]
    ids = [col.journal.get_by_key(k).id for k in keys[:100]]  # type: ignore[union-attr]
    ids = (ids * (count // len(ids) + 1))[:count]
    out = {}
    for name, call in (
        ("by idempotency key", lambda i: col.journal.get_by_key(keys[i])),
        ("status(id)", lambda i: col.status(ids[i])),
        ("events of a payment", lambda i: col.events(payment_id=ids[i])),
    ):
        times = []
        for i in range(count):
            t = time.perf_counter()
            call(i)
            times.append(time.perf_counter() - t)
        out[name] = 1e6 * sorted(times)[count // 2]
    return out


def write(url: str, n: int, chunk: int, count: Any) -> dict[str, Any]:
    with Collector.open(url, create=True) as col:
        col.add_channel("memory", MemoryChannel())
        start, cpu = time.perf_counter(), time.process_time()
        for first in range(0, n, chunk):
            for result in col.collect_many(list(requests(first, min(n, first + chunk))), "memory"):
                if not hasattr(result, "status"):
                    raise SystemExit(f"refused: {result}")
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        reads = time_reads(col, n)
        held = connections_with_threads(col, count, 4)
    held["after close"] = count()
    return {"wall_s": wall, "cpu_s": cpu, "connections": held, "reads_us": reads}


def run_one(backend: str, n: int, chunk: int, pg: str | None, keep: bool) -> dict[str, Any]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="footprint-") as tmp:
            path = str(Path(tmp) / "journal.db")
            result = write(f"sqlite:///{path}", n, chunk, lambda: sqlite_connections(path))
            result["sizes"] = sqlite_sizes(path)
            result["rows"] = row_counts(lambda: __import__("sqlite3").connect(path))
            result["file_bytes"] = os.path.getsize(path)
            wal = Path(path + "-wal")
            result["wal_bytes"] = wal.stat().st_size if wal.exists() else 0
    else:
        if not pg:
            raise SystemExit("PostgreSQL: give --pg or set $PAYCHANNELS_TEST_PG")
        port = urlsplit(pg).port or 5432
        with pg_schema(pg, keep) as url:
            if backend == "partitioned":
                from paychannels.journal.partitioning import Partitioning, partition_journal

                Collector.open(url, create=True).close()
                partition_journal(url, Partitioning())
            result = write(url, n, chunk, lambda: pg_connections(port))
            result["sizes"] = pg_sizes(url)
            result["rows"] = row_counts(lambda: __import__("psycopg").connect(url))
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def report(backend: str, n: int, r: dict[str, Any], bare: int) -> str:
    lines = [
        f"{backend}: {n:,} payments in {r['wall_s']:.0f} s wall, {r['cpu_s']:.0f} s CPU "
        f"({1e6 * r['wall_s'] / n:.0f} µs wall a payment), peak RSS {r['peak_rss_mb']:.0f} MB"
    ]
    rows = r["rows"]
    lines.append(
        f"  rows: {rows['pc_payments']:,} payments, {rows['pc_events']:,} events "
        f"({rows['pc_events'] / rows['pc_payments']:.1f} a payment)"
    )
    total = 0
    for table, parts in sorted(r["sizes"].items()):
        size = sum(parts.values())
        total += size
        if size == 0:
            continue
        detail = ", ".join(f"{k} {v / n:.0f}" for k, v in parts.items() if v)
        lines.append(f"  {table:18} {size / 2**20:9.1f} MB  {size / n:7.0f} B/payment  ({detail})")
    lines.append(
        f"  {'all':18} {total / 2**20:9.1f} MB  {total / n:7.0f} B/payment; "
        f"bare request {bare / n:.0f} B -> ratio {total / bare:.1f}x"
    )
    if "file_bytes" in r:
        lines.append(
            f"  file {r['file_bytes'] / 2**20:.1f} MB, WAL left {r['wal_bytes'] / 2**20:.1f} MB"
        )
    lines.append(
        "  reads, median µs: " + "; ".join(f"{k} {v:.0f}" for k, v in r["reads_us"].items())
    )
    lines.append("  connections: " + "; ".join(f"{k}: {v}" for k, v in r["connections"].items()))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--payments", type=int, default=100_000, help="at most 9,990,000")
    parser.add_argument("--backends", default="sqlite,postgres,partitioned")
    parser.add_argument("--chunk", type=int, default=10_000)
    parser.add_argument("--pg", default=os.environ.get("PAYCHANNELS_TEST_PG"))
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL schemas")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.payments, args.chunk, args.pg, args.keep)))
        return
    print(f"load average {os.getloadavg()[0]:.2f} at start", flush=True)
    bare = bare_bytes(args.payments)
    results: dict[str, Any] = {"payments": args.payments, "bare_bytes": bare}
    for backend in args.backends.split(","):
        cmd = [
            sys.executable,
            __file__,
            "--one",
            backend,
            "--payments",
            str(args.payments),
            "--chunk",
            str(args.chunk),
        ] + (["--pg", args.pg] if args.pg else [])
        cmd += ["--keep"] if args.keep else []
        load = os.getloadavg()[0]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        r["load_before"], r["load_after"] = load, os.getloadavg()[0]
        results[backend] = r
        if not args.json:
            print(report(backend, args.payments, r, bare))
            print(f"  load average {load:.2f} -> {r['load_after']:.2f}", flush=True)
    if args.json:
        print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
