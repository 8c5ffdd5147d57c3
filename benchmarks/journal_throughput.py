"""Payments journaled per second through ``Collector.collect()``, SQLite and PostgreSQL.

Baseline, measured in the same run on the same database: the bare SQL a journal needs for
one payment with the same durability — one transaction writing the payment row and its
CREATED + DISPATCHED events, then one transaction updating the row and appending the
SUCCEEDED event — with no validation, no model objects and no channel. The ratio is the
library's cost over that floor.

    python benchmarks/journal_throughput.py --payments 2000 [--pg postgresql://...] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from paychannels import Collector, MemoryChannel, Money, PaymentRequest


def collector_run(url: str, n: int) -> float:
    with Collector.open(url, create=True) as col:
        col.add_channel("hall-1", MemoryChannel())
        reqs = [
            PaymentRequest(
                payer_id=f"15042219900101{i:04d}",
                amount=Money("380.00", "CNY"),
                reference="2026",
                idempotency_key=f"bench-{i}",
                payer_name="张三",
            )
            for i in range(n)
        ]
        start = time.perf_counter()
        for r in reqs:
            col.collect(r, channel="hall-1")
        return time.perf_counter() - start


def _baseline_sql(placeholder: str) -> tuple[str, str, str, str]:
    p = placeholder
    ins = (
        "INSERT INTO pc_payments (id, kind, idempotency_key, fingerprint, channel, status, "
        "payer_id, reference, currency, amount_minor, request_json, created_at, updated_at) "
        f"VALUES ({p}, 'payment', {p}, 'f', 'hall-1', 'DISPATCHED', {p}, '2026', 'CNY', 38000, "
        f"'{{}}', {p}, {p})"
    )
    ev = (
        "INSERT INTO pc_events (payment_id, at, type, from_status, to_status, data) "
        f"VALUES ({p}, {p}, 'status', {p}, {p}, '{{}}')"
    )
    upd = (
        "UPDATE pc_payments SET status = 'SUCCEEDED', taken_minor = 38000, "
        f"updated_at = {p}, version = version + 1 WHERE id = {p}"
    )
    return ins, ev, upd, "BEGIN"


def baseline_sqlite(path: str, n: int) -> float:
    import sqlite3

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    ins, ev, upd, _ = _baseline_sql("?")
    now = "2026-01-01T00:00:00.000000Z"
    start = time.perf_counter()
    for i in range(n):
        pid = f"base_{i}"
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(ins, (pid, f"base-{i}", f"P{i}", now, now))
        conn.execute(ev, (pid, now, None, "CREATED"))
        conn.execute(ev, (pid, now, "CREATED", "DISPATCHED"))
        conn.execute("COMMIT")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(upd, (now, pid))
        conn.execute(ev, (pid, now, "DISPATCHED", "SUCCEEDED"))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def baseline_postgres(url: str, n: int) -> float:
    from datetime import UTC, datetime

    import psycopg

    ins, ev, upd, _ = _baseline_sql("%s")
    now = datetime.now(UTC)
    with psycopg.connect(url, autocommit=True) as conn:
        start = time.perf_counter()
        for i in range(n):
            pid = f"base_{i}"
            with conn.transaction():
                conn.execute(ins, (pid, f"base-{i}", f"P{i}", now, now))  # type: ignore[call-overload]
                conn.execute(ev, (pid, now, None, "CREATED"))  # type: ignore[call-overload]
                conn.execute(ev, (pid, now, "CREATED", "DISPATCHED"))  # type: ignore[call-overload]
            with conn.transaction():
                conn.execute(upd, (now, pid))  # type: ignore[call-overload]
                conn.execute(ev, (pid, now, "DISPATCHED", "SUCCEEDED"))  # type: ignore[call-overload]
        return time.perf_counter() - start


def fresh_pg_schema(base: str) -> tuple[str, Callable[[], None]]:
    import uuid
    from urllib.parse import quote

    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")  # type: ignore[call-overload]

    def drop() -> None:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")  # type: ignore[call-overload]

    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}", drop


def measure(name: str, n: int, url: str, baseline: Callable[[], float]) -> dict[str, Any]:
    lib = collector_run(url, n)
    base = baseline()
    return {
        "journal": name,
        "payments": n,
        "collect_per_s": round(n / lib, 1),
        "baseline_per_s": round(n / base, 1),
        "overhead_ratio": round(lib / base, 2),
        "ms_per_payment": round(1000 * lib / n, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=2000)
    parser.add_argument("--pg", default=os.environ.get("PAYCHANNELS_TEST_PG"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        rows.append(
            measure(
                "sqlite (WAL, synchronous=FULL)",
                args.payments,
                f"sqlite:///{db}",
                lambda: baseline_sqlite(str(db), args.payments),
            )
        )
    if args.pg:
        url, drop = fresh_pg_schema(args.pg)
        try:
            rows.append(
                measure(
                    "postgresql",
                    args.payments,
                    url,
                    lambda: baseline_postgres(url, args.payments),
                )
            )
        finally:
            drop()
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'journal':<32}{'collect/s':>12}{'bare SQL/s':>12}{'ratio':>8}{'ms/payment':>12}")
    for r in rows:
        print(
            f"{r['journal']:<32}{r['collect_per_s']:>12}{r['baseline_per_s']:>12}"
            f"{r['overhead_ratio']:>8}{r['ms_per_payment']:>12}"
        )


if __name__ == "__main__":
    main()
