"""Payments journaled per second through ``Collector.collect()``, SQLite and PostgreSQL.

Library: ``collect()`` on the memory channel — intent + DISPATCHED in one durable commit
before the channel is called, then the outcome (receipt, progress event, SUCCEEDED) in a
second. Baseline, measured in the same rounds on the same database: the bare SQL of the
same rows and events in the same two commits at the same durability — the payment row with
every column the library writes, CREATED + DISPATCHED events in the first commit, the
progress and SUCCEEDED events with the row's update in the second, JSON texts formatted in
place — with no validation, no idempotency or obligation reads, no objects and no channel.
On PostgreSQL two baselines: statement by statement (as bare SQL is usually written), and
pipelined (each commit one round trip: the floor of any client).

``--outcome-sync lazy,full`` measures under each journal rule (docs/state-machine.md,
"Durability"; default ``lazy``, the library's default): under ``lazy`` the library commits
the answer without its own flush, and so does the bare SQL (SQLite ``PRAGMA
synchronous=NORMAL`` for that commit, PostgreSQL ``SET LOCAL synchronous_commit = off``), so
the ratio compares the same work at the same durability. ``collect-before`` (an earlier
library) is run with its own rule, whatever it was.

Every measurement runs in its own process; a round runs the library and the baselines one
after another (the order alternating), and the rounds interleave, so both sides meet the same
load. Printed: each round's figures and ratio, the median, min and max over the rounds, and
the load average before and after. ``--procs 1,2,4`` adds the PostgreSQL curve: N processes
at once on one journal, each its own connection and its own payers (the
``--before-src`` code beside the library there too).

    python benchmarks/journal_throughput.py --payments 2000 --rounds 5 [--pg URL] \
        [--parts sqlite,postgres,curve] [--procs 1,2,4] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _common import schema_url

LAZY_PG = "SET LOCAL synchronous_commit TO OFF"
WARMUP = 20  # payments before the clock starts: connections, prepared statements, caches
SIDES = ("collect", "collect-before", "bare", "bare-pipelined")
BEFORE: dict[str, str] = {}  # --before-src: the side "collect-before" imports paychannels there
RULE = {"outcome_sync": "lazy"}  # the journal rule of the round being measured


# -- one side, in its own process ------------------------------------------------------------


def _request(i: int) -> Any:
    from paychannels import Money, PaymentRequest

    return PaymentRequest(
        payer_id=f"1504221990{i:08d}",
        amount=Money("380.00", "CNY"),
        reference="2026",
        idempotency_key=f"bench-{i}",
        payer_name="张三",
    )


def run_collect(url: str, first: int, n: int, start_at: float) -> tuple[float, float, float]:
    """``collect()`` of payments first..first+n; (start, end, CPU seconds) of the timed part."""
    from paychannels import Collector, MemoryChannel

    with Collector.open(url) as col:
        col.add_channel("hall-1", MemoryChannel())
        for i in range(first - WARMUP, first):
            col.collect(_request(i), channel="hall-1")
        reqs = [_request(i) for i in range(first, first + n)]
        _wait_until(start_at)
        start, cpu = time.time(), time.process_time()
        for r in reqs:
            col.collect(r, channel="hall-1")
        return start, time.time(), time.process_time() - cpu


_COLUMNS = (
    "id, kind, parent_id, idempotency_key, fingerprint, channel, status, payer_id, reference, "
    "currency, amount_minor, taken_minor, channel_ref, reason, reason_detail, attention, "
    "request_json, channel_data, occurrence, attempt, claimed_by, lease_until, created_at, "
    "updated_at, version"
)
_EVENT = "INSERT INTO pc_events (payment_id, at, type, from_status, to_status, data, columns_set)"


class _Bare:
    """The rows and events of one payment as the library writes them, formatted in place."""

    def __init__(self, mark: str, ts: Callable[[datetime], Any]) -> None:
        p = mark
        self.ts = ts
        self.insert = (
            f"INSERT INTO pc_payments ({_COLUMNS}) VALUES ({p}, 'payment', NULL, {p}, {p}, "
            f"'hall-1', 'DISPATCHED', {p}, '2026', 'CNY', 38000, NULL, NULL, NULL, NULL, NULL, "
            f"{p}, '{{}}', 1, 1, {p}, {p}, {p}, {p}, 2)"
        )
        self.events2 = f"{_EVENT} VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}), " + (
            f"({p}, {p}, {p}, {p}, {p}, {p}, {p})"
        )
        self.update = (
            f"UPDATE pc_payments SET status = 'SUCCEEDED', claimed_by = NULL, lease_until = NULL, "
            f"reason = NULL, reason_detail = NULL, taken_minor = 38000, channel_ref = {p}, "
            f"channel_data = {p}, updated_at = {p}, version = version + 1 WHERE id = {p}"
        )
        self.owner = "bench/0/bare"

    def intent(self, i: int) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """The payment row and its two events (CREATED, DISPATCHED)."""
        pid, key, payer = f"pay_base{i:018d}", f"bench-{i}", f"1504221990{i:08d}"
        now = datetime.now(UTC)
        at, lease = self.ts(now), self.ts(now + timedelta(seconds=70))
        iso, fp = now.isoformat(), f"{i:064x}"
        request = '{"payer_name":"张三"}'
        row = (pid, key, fp, payer, request, self.owner, lease, at, at)
        created = (
            f'{{"amount_minor":38000,"attempt":0,"channel":"hall-1","channel_data":{{}},'
            f'"claimed_by":null,"created_at":"{iso}","currency":"CNY","fingerprint":"{fp}",'
            f'"id":"{pid}","idempotency_key":"{key}","kind":"payment","lease_until":null,'
            f'"occurrence":1,"payer_id":"{payer}","reference":"2026","request_json":'
            f'{{"payer_name":"张三"}},"status":"CREATED","updated_at":"{iso}"}}'
        )
        dispatched = (
            f'{{"attempt":1,"claimed_by":"{self.owner}","lease_until":"{iso}",'
            f'"status":"DISPATCHED","updated_at":"{iso}"}}'
        )
        events = (
            *(pid, at, "created", None, "CREATED", f'{{"fingerprint":"{fp}"}}', created),
            *(pid, at, "status", "CREATED", "DISPATCHED", '{"attempt":1,"owner":"o"}', dispatched),
        )
        return row, events

    def outcome(self, i: int) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """The row's update and its two events (progress, SUCCEEDED with the receipt)."""
        pid = f"pay_base{i:018d}"
        now = datetime.now(UTC)
        at, iso, ref = self.ts(now), now.isoformat(), f"mem-{i:08d}"
        receipt = f'["MEMORY DEVICE memory","AMOUNT ¥380.00","REF {ref}"]'
        data = f'{{"receipt":{receipt}}}'
        update = (ref, data, at, pid)
        sets = (
            f'{{"channel_data":{data},"channel_ref":"{ref}","claimed_by":null,'
            f'"lease_until":null,"reason":null,"reason_detail":null,"status":"SUCCEEDED",'
            f'"taken_minor":38000,"updated_at":"{iso}"}}'
        )
        done = f'{{"amount_taken_minor":38000,"attempt":1,"receipt":{receipt},"via":"dispatch"}}'
        progress = f'{{"at":"{iso}","behaviour":"approve","text":"processing"}}'
        events = (
            *(pid, at, "progress", None, None, progress, "{}"),
            *(pid, at, "status", "DISPATCHED", "SUCCEEDED", done, sets),
        )
        return update, events


def with_rule(url: str, rule: str) -> str:
    """The journal URL with ``outcome_sync=rule``."""
    return f"{url}{'&' if '?' in url else '?'}outcome_sync={rule}"


def run_bare_sqlite(
    path: str, first: int, n: int, start_at: float, *, lazy: bool
) -> tuple[float, float, float]:
    import sqlite3

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    bare = _Bare("?", lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))

    def one(i: int) -> None:
        row, events = bare.intent(i)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(bare.insert, row)
        conn.execute(bare.events2, events)
        conn.execute("COMMIT")
        update, events = bare.outcome(i)
        if lazy:  # the library's rule: the answer's commit without its own fsync
            conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(bare.update, update)
        conn.execute(bare.events2, events)
        conn.execute("COMMIT")
        if lazy:
            conn.execute("PRAGMA synchronous=FULL")

    for i in range(first - WARMUP, first):
        one(i)
    _wait_until(start_at)
    start, cpu = time.time(), time.process_time()
    for i in range(first, first + n):
        one(i)
    end = time.time()
    conn.close()
    return start, end, time.process_time() - cpu


def run_bare_postgres(
    url: str, first: int, n: int, start_at: float, *, pipelined: bool, lazy: bool
) -> tuple[float, float, float]:
    import psycopg

    bare = _Bare("%s", lambda t: t)
    lock = "SELECT pg_advisory_xact_lock(1885562230)"  # the journal's event-order lock
    with psycopg.connect(url, autocommit=True) as conn:

        def commit(
            sql: str, values: tuple[Any, ...], events: tuple[Any, ...], answer: bool = False
        ) -> None:
            unflushed = lazy and answer  # the library's rule for the answer's commit
            if pipelined:
                with conn.pipeline():
                    for statement, params in (
                        ("BEGIN", None),
                        *([(LAZY_PG, None)] if unflushed else []),
                        (sql, values),
                        (lock, None),
                        (bare.events2, events),
                        ("COMMIT", None),
                    ):
                        conn.execute(statement, params)  # type: ignore[call-overload]
                return
            with conn.transaction():
                if unflushed:
                    conn.execute(LAZY_PG)
                conn.execute(sql, values)  # type: ignore[call-overload]
                conn.execute(lock)  # type: ignore[call-overload]
                conn.execute(bare.events2, events)  # type: ignore[call-overload]

        def one(i: int) -> None:
            row, events = bare.intent(i)
            commit(bare.insert, row, events)
            update, events = bare.outcome(i)
            commit(bare.update, update, events, answer=True)

        for i in range(first - WARMUP, first):
            one(i)
        _wait_until(start_at)
        start, cpu = time.time(), time.process_time()
        for i in range(first, first + n):
            one(i)
        return start, time.time(), time.process_time() - cpu


def _wait_until(at: float) -> None:
    delay = at - time.time()
    if delay > 0:
        time.sleep(delay)


def worker(args: argparse.Namespace) -> None:
    """One side's run, its (start, end, cpu) printed as JSON for the parent."""
    first, n, at = args.first, args.payments, args.start_at
    lazy = args.outcome_sync == "lazy"
    if args.worker == "collect":
        result = run_collect(with_rule(args.db, args.outcome_sync), first, n, at)
    elif args.worker == "collect-before":
        result = run_collect(args.db, first, n, at)
    elif args.db.startswith("sqlite:///"):
        result = run_bare_sqlite(args.db.removeprefix("sqlite:///"), first, n, at, lazy=lazy)
    else:
        pipelined = args.worker != "bare"
        result = run_bare_postgres(args.db, first, n, at, pipelined=pipelined, lazy=lazy)
    import paychannels

    where = paychannels.__file__
    print(json.dumps({"start": result[0], "end": result[1], "cpu": result[2], "module": where}))


# -- the parent: fresh journals, interleaved rounds, the curve --------------------------------


def _spawn(side: str, db: str, first: int, n: int, start_at: float) -> subprocess.Popen[str]:
    cmd = [sys.executable, __file__, "--worker", side, "--db", db]
    cmd += ["--first", str(first), "--payments", str(n), "--start-at", str(start_at)]
    cmd += ["--outcome-sync", RULE["outcome_sync"]]
    env = dict(os.environ)
    if side == "collect-before":
        env["PYTHONPATH"] = BEFORE["src"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)


def _gather(procs: list[subprocess.Popen[str]], timeout: float) -> list[dict[str, float]]:
    out = []
    for p in procs:
        stdout, _ = p.communicate(timeout=timeout)
        if p.returncode != 0:
            raise SystemExit(f"a worker failed (exit {p.returncode})")
        out.append(json.loads(stdout.strip().splitlines()[-1]))
        if p.args[3] == "collect-before":  # type: ignore[index]
            assert out[-1]["module"].startswith(BEFORE["src"]), out[-1]["module"]
    return out


def _journal(url: str) -> None:
    from paychannels import Collector

    with Collector.open(url, create=True):
        pass


@contextmanager
def fresh_db(kind: str, pg: str | None) -> Iterator[str]:
    """A new, empty journal: a SQLite file in a temp folder or a PostgreSQL schema."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            _journal(url)
            yield url
        return
    import psycopg

    assert pg is not None
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")  # type: ignore[call-overload]
    url = schema_url(pg, schema)
    try:
        _journal(url)
        yield url
    finally:
        with psycopg.connect(pg, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")  # type: ignore[call-overload]


def measure(side: str, kind: str, pg: str | None, n: int, procs: int = 1) -> dict[str, float]:
    """``procs`` processes of one side at once on a fresh journal, distinct payers each."""
    with fresh_db(kind, pg) as url:
        start_at = time.time() + 2.0 + 0.5 * procs  # every worker connected and warm by then
        spawned = [_spawn(side, url, (k + 1) * 1_000_000, n, start_at) for k in range(procs)]
        runs = _gather(spawned, timeout=600)
    wall = max(r["end"] for r in runs) - min(r["start"] for r in runs)
    return {
        "per_s": round(procs * n / wall, 1),
        "cpu_ms": round(1000 * sum(r["cpu"] for r in runs) / (procs * n), 3),
    }


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):,.2f} ({min(values):,.2f}-{max(values):,.2f})"


def rounds(kind: str, pg: str | None, n: int, count: int) -> dict[str, Any]:
    sides = ["collect", "bare"] + (["bare-pipelined"] if kind == "postgres" else [])
    if BEFORE:
        sides.insert(1, "collect-before")
    results: dict[str, list[dict[str, float]]] = {s: [] for s in sides}
    for r in range(count):
        order = sides if r % 2 == 0 else sides[::-1]
        for side in order:
            results[side].append(measure(side, kind, pg, n))
        line = "  ".join(
            f"{s} {results[s][-1]['per_s']:,.1f}/s {results[s][-1]['cpu_ms']:.2f} ms CPU"
            for s in sides
        )
        ratios = "  ".join(
            f"ratio/{s} {results[s][-1]['per_s'] / results['collect'][-1]['per_s']:.2f}"
            for s in sides[1:]
        )
        rule = RULE["outcome_sync"]
        print(f"  {kind} ({rule}) round {r + 1}: {line}  {ratios}  (load {load()})", flush=True)
    summary: dict[str, Any] = {
        "journal": kind,
        "outcome_sync": RULE["outcome_sync"],
        "payments": n,
        "rounds": count,
    }
    for s in sides:
        summary[f"{s}_per_s"] = [x["per_s"] for x in results[s]]
        summary[f"{s}_cpu_ms"] = [x["cpu_ms"] for x in results[s]]
    for s in sides[1:]:
        summary[f"ratio_{s}"] = [
            round(b["per_s"] / c["per_s"], 2)
            for c, b in zip(results["collect"], results[s], strict=True)
        ]
    return summary


def curve(pg: str, n: int, counts: list[int], count: int) -> list[dict[str, Any]]:
    """N processes at once on one PostgreSQL journal, library (and an earlier library,
    ``--before-src``) and bare SQL interleaved, the order alternating by round."""
    rows = []
    sides = ["collect", *(["collect-before"] if BEFORE else []), "bare"]
    for procs in counts:
        got: dict[str, list[dict[str, float]]] = {s: [] for s in sides}
        for r in range(count):
            for side in sides if r % 2 == 0 else sides[::-1]:
                got[side].append(measure(side, "postgres", pg, n, procs))
            lib, bare = got["collect"][-1], got["bare"][-1]
            before = ""
            if BEFORE:
                old = got["collect-before"][-1]
                before = f"  before {old['per_s']:,.1f}/s (client CPU {old['cpu_ms']} ms)"
            print(
                f"  curve N={procs} round {r + 1}: collect {lib['per_s']:,.1f}/s "
                f"(client CPU {lib['cpu_ms']} ms/payment){before}  bare {bare['per_s']:,.1f}/s"
                f"  (load {load()})",
                flush=True,
            )
        row: dict[str, Any] = {"processes": procs, "payments_each": n}
        for side in sides:
            key = side.replace("-", "_")
            row[f"{key}_per_s"] = [x["per_s"] for x in got[side]]
            if side != "bare":
                row[f"{key}_cpu_ms"] = [x["cpu_ms"] for x in got[side]]
        rows.append(row)
    return rows


def report(summaries: list[dict[str, Any]], curves: list[dict[str, Any]]) -> None:
    print("\nmedian (min-max) over the rounds")
    for s in summaries:
        print(
            f"{s['journal']}, outcome_sync={s['outcome_sync']}: {s['payments']} payments a "
            f"round, {s['rounds']} rounds"
        )
        print(f"  collect()/s             {_spread(s['collect_per_s'])}")
        print(f"  bare SQL/s              {_spread(s['bare_per_s'])}")
        print(f"  ratio to bare SQL       {_spread(s['ratio_bare'])}")
        for side in ("collect", "collect-before", "bare", "bare-pipelined"):
            if f"{side}_cpu_ms" in s:
                print(f"  client CPU ms/payment, {side:<15} {_spread(s[f'{side}_cpu_ms'])}")
        if "ratio_collect-before" in s:
            print(f"  collect() before/s      {_spread(s['collect-before_per_s'])}")
            speedup = [round(1 / x, 2) for x in s["ratio_collect-before"]]
            print(f"  speed-up over before    {_spread(speedup)}")
        if "ratio_bare-pipelined" in s:
            print(f"  bare SQL pipelined/s    {_spread(s['bare-pipelined_per_s'])}")
            print(f"  ratio to it             {_spread(s['ratio_bare-pipelined'])}")
    if curves:
        print("PostgreSQL, N processes at once (one connection each, own payers): total/s")
        base = statistics.median(curves[0]["collect_per_s"])
        for c in curves:
            med = statistics.median(c["collect_per_s"])
            print(
                f"  N={c['processes']}: collect {_spread(c['collect_per_s'])}  "
                f"x{med / base:.2f} of N=1  client CPU ms/payment "
                f"{statistics.median(c['collect_cpu_ms']):.3f}  bare SQL {_spread(c['bare_per_s'])}"
            )
            if "collect_before_per_s" in c:
                speedup = [
                    round(a / b, 2)
                    for a, b in zip(c["collect_per_s"], c["collect_before_per_s"], strict=True)
                ]
                print(
                    f"        before {_spread(c['collect_before_per_s'])}  client CPU ms/payment "
                    f"{statistics.median(c['collect_before_cpu_ms']):.3f}  "
                    f"speed-up {_spread(speedup)}"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pg", default=os.environ.get("PAYCHANNELS_TEST_PG"))
    parser.add_argument("--parts", default="sqlite,postgres,curve")
    parser.add_argument("--procs", default="1,2,4")
    parser.add_argument("--curve-payments", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--before-src", help="a src/ folder of an earlier paychannels, measured in the same rounds"
    )
    parser.add_argument(
        "--outcome-sync",
        default="lazy",
        help="the journal rule(s) to measure, comma-separated: lazy, full (default lazy)",
    )
    parser.add_argument("--worker", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--first", type=int, default=1_000_000, help=argparse.SUPPRESS)
    parser.add_argument("--start-at", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    parts = set(args.parts.split(","))
    if args.before_src:
        BEFORE["src"] = str(Path(args.before_src).resolve())
    print(f"load average before: {load()}  ({os.cpu_count()} cores)", flush=True)
    summaries = []
    for rule in args.outcome_sync.split(","):
        if rule not in ("lazy", "full"):
            raise SystemExit(f"--outcome-sync: {rule!r} is not lazy or full")
        RULE["outcome_sync"] = rule
        if "sqlite" in parts:
            summaries.append(rounds("sqlite", None, args.payments, args.rounds))
        if args.pg and "postgres" in parts:
            summaries.append(rounds("postgres", args.pg, args.payments, args.rounds))
    curves: list[dict[str, Any]] = []
    if args.pg and "curve" in parts:
        counts = [int(x) for x in args.procs.split(",")]
        curves = curve(args.pg, args.curve_payments, counts, args.rounds)
    print(f"load average after: {load()}")
    if args.json:
        print(json.dumps({"rounds": summaries, "curve": curves}, indent=2))
        return
    report(summaries, curves)


if __name__ == "__main__":
    main()
