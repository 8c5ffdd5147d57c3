"""Bank batch files at county scale: 300,000 debits, measured next to named baselines.

1. Write pain.008.001.08, every value checked against the schema's rules as it is written,
   next to sepaxml 2.7.0's export without validation — same data (SEPA-style IBANs so that
   sepaxml can take it), each side in its own process, ``--rounds`` interleaved rounds (the
   side that goes first alternates). Printed per round and as medians: seconds, peak RSS,
   the ratio; beside it the channel's recount of the written file (``check_totals``, which
   the bank channel's flush runs on every file it writes) and the ratio with it included.
   Both sides build their inputs (our ``Debit`` objects, sepaxml's dicts) inside the timed
   part, from the same values made lazily by C-level iterators, so that making test data
   costs neither side much (``--parts inputs`` prints what building the inputs costs).
   Targets: >= 12x faster, peak RSS <= 64 MB.
2. Full streaming XSD validation of that file (ours) next to sepaxml's own validation
   (which stops above about 55,000 debits). Expect seconds, <= 64 MB.
3. Ingest a 300,000-entry pain.002 into the SQLite journal through the bank channel's
   report (set-based), next to the notice path (``Collector.handle_notices``) on a copy of
   the same journal. Targets: <= 10 s, peak RSS <= 150 MB.

Each measurement runs in its own process, so peak RSS is that step's alone.

    pip install -e '.[bench]'
    python benchmarks/bank_files.py [--debits 300000] [--rounds 5] [--parts write] [--json]
        [--old OLDTREE/src]   # the write rounds with an older tree as a third side
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
from collections import deque
from collections.abc import Iterator
from datetime import UTC, date, datetime
from itertools import repeat
from pathlib import Path
from typing import Any

from _common import StepFailed, step

DAY = date(2026, 3, 3)
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


_BBAN0 = 370400440000
# ISO 13616 check digits of DE + BBAN: 98 - (BBAN * 10**6 + 131400) mod 97, kept in modular
# arithmetic so that making the test data (the same for both sides) does not dominate the
# measurement of either library.
_BASE = (_BBAN0 * 10**6 + 131400) % 97
_STEP = 10**6 % 97


def _iban(i: int) -> str:
    check = 98 - (_BASE + i * _STEP) % 97
    return f"DE{check:02d}{_BBAN0 + i:018d}"


SIGNED = date(2025, 3, 1)
BIC = "COBADEFFXXX"
REMITTANCE = "Pension contribution 2026"
_SEPAXML_KEYS = (
    "name",
    "IBAN",
    "BIC",
    "amount",
    "type",
    "collection_date",
    "mandate_id",
    "mandate_date",
    "description",
    "endtoend_id",
)


def _amounts(n: int) -> Iterator[int]:
    """``38_000 + i % 500`` for every i, without a Python call per value."""
    return map(int.__add__, repeat(38_000), map((500).__rmod__, range(n)))


def _values(n: int) -> tuple[Iterator[Any], ...]:
    """The varying values of ``n`` debits, lazily and without a Python call per value (the
    same for both sides; neither library's work): end-to-end id, amount, name, IBAN,
    mandate id."""
    checks = map(
        int.__rsub__,
        map((97).__rmod__, map(_BASE.__add__, map(_STEP.__mul__, range(n)))),
        repeat(98),
    )
    ibans = map("DE%02d%018d".__mod__, zip(checks, map(_BBAN0.__add__, range(n)), strict=False))
    return (
        map("E2E%012d".__mod__, range(n)),
        _amounts(n),
        map("Zhang San %d".__mod__, range(n)),
        ibans,
        map("DK%010d".__mod__, range(n)),
    )


def _rows(n: int) -> Iterator[dict[str, Any]]:
    """The debits as sepaxml takes them (a dict each)."""
    e2e, amount, name, iban, mandate = _values(n)
    return map(
        dict,
        map(
            zip,
            repeat(_SEPAXML_KEYS),
            zip(
                name,
                iban,
                repeat(BIC),
                amount,
                repeat("RCUR"),
                repeat(DAY),
                mandate,
                repeat(SIGNED),
                repeat(REMITTANCE),
                e2e,
                strict=False,
            ),
        ),
    )


def _debits(n: int) -> Iterator[Any]:
    """The same debits as ``_rows``, as our writer takes them."""
    from paychannels.bankfiles.model import Debit

    e2e, amount, name, iban, mandate = _values(n)
    return map(
        Debit,
        e2e,
        amount,
        repeat("EUR"),
        name,
        iban,
        repeat(BIC),
        mandate,
        repeat(SIGNED),
        repeat(DAY),
        repeat("RCUR"),
        repeat(REMITTANCE),
    )


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- steps (each in a child process) --------------------------------------------------------


def step_write_ours(n: int, path: Path) -> dict[str, Any]:
    from paychannels.bankfiles.model import Creditor
    from paychannels.bankfiles.pain008 import write_file
    from paychannels.bankfiles.split import Limits, plan_files
    from paychannels.bankfiles.validate import check_totals

    creditor = Creditor(
        name="Social Insurance Office",
        account=_iban(10**9),
        bank=BIC,
        scheme_id="DE98ZZZ09999999999",
        currency="EUR",
    )
    start, cpu = time.perf_counter(), time.process_time()
    files = plan_files([(DAY, "RCUR", _amounts(n))], Limits())
    totals, _sha = write_file(
        path,
        format="pain.008.001.08",
        creditor=creditor,
        msg_id="BENCH1",
        created_at=AT,
        batches=files[0],
        debits=_debits(n),
    )
    write, write_cpu = time.perf_counter() - start, time.process_time() - cpu
    write_peak = _peak_mb()
    start = time.perf_counter()
    recount = check_totals(path)  # what the bank channel's flush does to every file it writes
    recheck = time.perf_counter() - start
    assert (recount.count, recount.sum_minor) == (totals.count, totals.sum_minor)
    return {
        "seconds": write,
        "cpu_seconds": write_cpu,
        "recheck_seconds": recheck,
        "peak_mb": write_peak,
        "recheck_peak_mb": _peak_mb(),
        "bytes": path.stat().st_size,
        "sum_minor": totals.sum_minor,
    }


def step_inputs(n: int, side: str) -> dict[str, Any]:
    """What building one side's inputs costs alone (consumed, nothing written)."""
    start = time.perf_counter()
    deque(_debits(n) if side == "ours" else _rows(n), maxlen=0)
    return {"seconds": time.perf_counter() - start, "peak_mb": _peak_mb()}


def _sepaxml(n: int) -> Any:
    """sepaxml's document holding the same debits, built as its README shows."""
    from sepaxml import SepaDD

    sepa = SepaDD(
        {
            "name": "Social Insurance Office",
            "IBAN": _iban(10**9),
            "BIC": BIC,
            "batch": True,
            "creditor_id": "DE98ZZZ09999999999",
            "currency": "EUR",
        },
        schema="pain.008.001.08",
        clean=True,
    )
    for row in _rows(n):
        sepa.add_payment(row)
    return sepa


def step_write_sepaxml(n: int, path: Path) -> dict[str, Any]:
    start, cpu = time.perf_counter(), time.process_time()
    sepa = _sepaxml(n)
    data = sepa.export(validate=False)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    path.write_bytes(data)
    peak = _peak_mb()
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "peak_mb": peak, "bytes": len(data)}


def step_validate_ours(path: Path) -> dict[str, Any]:
    from paychannels.bankfiles.validate import validate_xsd

    start = time.perf_counter()
    validate_xsd(path, "pain.008.001.08")
    return {"seconds": time.perf_counter() - start, "peak_mb": _peak_mb()}


def step_validate_sepaxml(n: int) -> dict[str, Any]:
    sepa = _sepaxml(n)
    start = time.perf_counter()
    try:
        sepa.export(validate=True)
        error = None
    except Exception as exc:  # what sepaxml raises is the finding
        error = f"{type(exc).__name__}: {str(exc)[:160]}"
    return {"seconds": time.perf_counter() - start, "peak_mb": _peak_mb(), "error": error}


def step_ingest_ours(db: str, exchange: Path, result: Path) -> dict[str, Any]:
    from paychannels import Collector
    from paychannels.bankfiles.model import Creditor
    from paychannels.channels.bank import BankBatchChannel
    from paychannels.channels.bank.formats import open_format

    with Collector.open(db, create=True) as col:
        ch = BankBatchChannel(
            exchange,
            format=open_format("pain.008.001.08"),
            creditor=Creditor(name="Office", account="1505017100123", bank="105191000011"),
        )
        col.add_channel("bank", ch)
        start = time.perf_counter()
        report = ch.report_for(result, col.channel_context("bank"), move=False)
        assert report is not None
        summary = col.apply_report("bank", report)
        seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "peak_mb": _peak_mb(),
        "moved": summary.moved,
        "error": summary.error,
    }


def step_ingest_notices(db: str, result: Path) -> dict[str, Any]:
    from paychannels import Collector, MemoryChannel, Money, Notice, Outcome, Reason
    from paychannels.bankfiles.ids import payment_of
    from paychannels.bankfiles.pain002 import read_pain002
    from paychannels.bankfiles.results import TxResult

    with Collector.open(db, create=True) as col:
        col.add_channel("bank", MemoryChannel())
        start = time.perf_counter()
        notices = []
        for item in read_pain002(result):
            if isinstance(item, TxResult):
                pid = payment_of(item.ref)
                assert pid is not None
                if item.outcome == "succeeded":
                    outcome = Outcome.succeeded(
                        amount_taken=Money.of_minor(item.taken_minor or 0, "CNY")
                    )
                else:
                    outcome = Outcome.declined(Reason.INSUFFICIENT_FUNDS, item.reason)
                notices.append(
                    Notice(payment_id=pid[0], outcome=outcome, verified=True, source="pain.002")
                )
        col.handle_notices("bank", notices)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_mb": _peak_mb()}


# -- set-up and orchestration ------------------------------------------------------------------


def setup_journal(db: str, exchange: Path, result: Path, n: int) -> None:
    """A journal with ``n`` PENDING bank debits, the ledger entry of their request file, and
    the bank's pain.002 answering it (90 % settled, 10 % refused AM04)."""
    from paychannels import Collector, Money, PaymentRequest, Status
    from paychannels.bankfiles.ids import end_to_end_id
    from paychannels.journal import Change, NewRecord
    from paychannels.runtime.ids import new_id
    from paychannels.simulators.bank.replies import TxReply, write_pain002

    ids: list[str] = []
    with Collector.open(db, create=True) as col:
        for start in range(0, n, 5000):
            news = []
            for i in range(start, min(n, start + 5000)):
                pid = new_id("pay")
                ids.append(pid)
                r = PaymentRequest(
                    payer_id=f"P{i:08d}",
                    amount=Money.of_minor(38_000, "CNY"),
                    reference="2026",
                    idempotency_key=f"bench-{i}",
                )
                news.append(NewRecord(pid, "payment", "bank", r, r.fingerprint("bank")))
            col.journal.create_many(
                news,
                now=col.clock.now(),
                then=[Change(to_status=Status.DISPATCHED), Change(to_status=Status.PENDING)],
            )
        entry = {
            "msg_id": "BENCH1",
            "name": "BENCH1.xml",
            "format": "pain.008.001.08",
            "sha256": "0" * 64,
            "count": n,
            "sum_minor": 38_000 * n,
            "currency": "CNY",
            "archive": "none.jsonl",
            "batches": [["BENCH1-001", 0, n, 38_000 * n]],
        }
        col.journal.state_put("bank", "file:BENCH1", entry, expected_version=0, now=col.clock.now())
    replies = (
        TxReply(
            end_to_end_id(pid, 1),
            "RJCT" if i % 10 == 0 else "ACSC",
            38_000,
            "CNY",
            "AM04" if i % 10 == 0 else None,
        )
        for i, pid in enumerate(ids)
    )
    with open(result, "w", encoding="utf-8") as out:
        write_pain002(
            out,
            version="10",
            msg_id="RPT1",
            created_at=AT,
            original_msg_id="BENCH1",
            original_message="pain.008.001.08",
            original_count=n,
            group_status="PART",
            batches=[("BENCH1-001", replies)],
        )
    exchange.mkdir(parents=True, exist_ok=True)


def child(name: str, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """A step in its own process; a failed one is reported (its last stderr line), not fatal."""
    try:
        return step(__file__, name, "--step", name, *args, env=env)
    except StepFailed as failed:
        return {"error": failed.tail}


def _validate(report: dict[str, Any], t: Path, n: int, sepaxml_n: int) -> None:
    report["validate_ours"] = child("validate-ours", str(t / "ours.xml"))
    report["validate_sepaxml"] = {"debits": sepaxml_n, **child("validate-sepaxml", str(sepaxml_n))}
    if n > 55_000:
        report["validate_sepaxml_full"] = child("validate-sepaxml", str(n))


def _ingest(report: dict[str, Any], t: Path, n: int, *, baseline: bool) -> None:
    db = f"sqlite:///{t}/journal.db"
    result = str(t / "PAIN002_BENCH1.xml")
    child("setup", db, str(t / "exchange"), result, str(n))
    shutil.copy(t / "journal.db", t / "copy.db")
    report["ingest_ours"] = child("ingest-ours", db, str(t / "exchange"), result)
    if baseline:
        report["ingest_notices"] = child("ingest-notices", f"sqlite:///{t}/copy.db", result)
        if "seconds" in report["ingest_ours"] and "seconds" in report["ingest_notices"]:
            report["ingest_ratio"] = (
                report["ingest_notices"]["seconds"] / report["ingest_ours"]["seconds"]
            )


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def _write_rounds(
    report: dict[str, Any], t: Path, n: int, rounds: int, old: str | None = None
) -> None:
    """Interleaved rounds, each side in its own process, the first side alternating; one line
    a round as it ends, then the medians and ranges. ``old``: a ``src`` folder of an older
    tree, run as a third side (``main``, ours through ``PYTHONPATH``) in the same rounds."""
    rows: list[dict[str, Any]] = []
    for r in range(1, rounds + 1):
        load = _load()
        order = ("ours", "sepaxml") if r % 2 else ("sepaxml", "ours")
        got = {side: child(f"write-{side}", str(n), str(t / f"{side}.xml")) for side in order}
        if old:
            env = {**os.environ, "PYTHONPATH": old}
            got["main"] = child("write-ours", str(n), str(t / "main.xml"), env=env)
        ours, theirs = got["ours"], got["sepaxml"]
        if "seconds" not in ours or "seconds" not in theirs:
            report["write_error"] = {"ours": ours, "sepaxml": theirs}
            return
        row = {
            "round": r,
            "load": load,
            "first": order[0],
            "ours_s": ours["seconds"],
            "ours_mb": ours["peak_mb"],
            "recount_s": ours["recheck_seconds"],
            "recount_mb": ours["recheck_peak_mb"],
            "sepaxml_s": theirs["seconds"],
            "sepaxml_mb": theirs["peak_mb"],
            "ratio": theirs["seconds"] / ours["seconds"],
            "cpu_ratio": theirs["cpu_seconds"] / ours["cpu_seconds"],
            "ratio_with_recount": theirs["seconds"] / (ours["seconds"] + ours["recheck_seconds"]),
        }
        if old:
            row["main_cpu_ratio"] = theirs["cpu_seconds"] / got["main"]["cpu_seconds"]
            row["cpu_s"] = ours["cpu_seconds"]
            row["main_cpu_s"] = got["main"]["cpu_seconds"]
        rows.append(row)
        print(
            f"round {r} (load {load}, {order[0]} first): ours {row['ours_s']:.2f} s "
            f"{row['ours_mb']:.0f} MB | recount {row['recount_s']:.2f} s | sepaxml "
            f"{row['sepaxml_s']:.2f} s {row['sepaxml_mb']:.0f} MB | {row['ratio']:.1f}x "
            f"({row['ratio_with_recount']:.1f}x with the recount; "
            f"in CPU time {row['cpu_ratio']:.1f}x)"
            + (
                f" | main: CPU {row['main_cpu_s']:.2f} s, ours {row['cpu_s']:.2f} s, "
                f"sepaxml / main in CPU time {row['main_cpu_ratio']:.1f}x"
                if old
                else ""
            ),
            flush=True,
        )
    report["write_rounds"] = rows
    summary = {
        key: _spread([row[key] for row in rows])
        for key in ("ours_s", "ours_mb", "recount_s", "sepaxml_s", "sepaxml_mb", "ratio")
    }
    for key in ("ratio_with_recount", "cpu_ratio", "cpu_s", "main_cpu_s", "main_cpu_ratio"):
        if key in rows[0]:
            summary[key] = _spread([row[key] for row in rows])
    summary["load_after"] = _load()
    report["write"] = summary
    ratio = statistics.median(row["ratio"] for row in rows)
    peak = max(row["ours_mb"] for row in rows)
    cpu = statistics.median(row["cpu_ratio"] for row in rows)
    report["write_targets"] = (
        f"median {ratio:.1f}x wall, {cpu:.1f}x CPU time (target >= 12x: "
        f"{'met' if min(ratio, cpu) >= 12 else 'NOT met'}); "
        f"peak {peak:.0f} MB (target <= 64 MB: {'met' if peak <= 64 else 'NOT met'})"
    )


def _spread(values: list[float]) -> str:
    """Median (min-max) of a round's figures."""
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--debits", type=int, default=300_000)
    parser.add_argument(
        "--sepaxml-validate",
        type=int,
        default=20_000,
        help="debits for sepaxml's own validation (it stops above ~55,000)",
    )
    parser.add_argument("--rounds", type=int, default=5, help="interleaved write rounds")
    parser.add_argument("--skip-baseline-ingest", action="store_true")
    parser.add_argument("--parts", default="write,validate,ingest", help="which measurements")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--old", help="an older tree's src folder: a third write side, 'main'")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        steps = {
            "write-ours": lambda a: step_write_ours(int(a[0]), Path(a[1])),
            "write-sepaxml": lambda a: step_write_sepaxml(int(a[0]), Path(a[1])),
            "inputs": lambda a: step_inputs(int(a[0]), a[1]),
            "validate-ours": lambda a: step_validate_ours(Path(a[0])),
            "validate-sepaxml": lambda a: step_validate_sepaxml(int(a[0])),
            "ingest-ours": lambda a: step_ingest_ours(a[0], Path(a[1]), Path(a[2])),
            "ingest-notices": lambda a: step_ingest_notices(a[0], Path(a[1])),
            "setup": lambda a: setup_journal(a[0], Path(a[1]), Path(a[2]), int(a[3])) or {},
        }
        print(json.dumps(steps[args.step](args.args)))
        return 0
    n = args.debits
    parts = set(args.parts.split(","))
    report: dict[str, Any] = {"debits": n}
    with tempfile.TemporaryDirectory(prefix="pc-bench-bank-") as tmp:
        t = Path(tmp)
        if "write" in parts:
            _write_rounds(report, t, n, args.rounds, args.old)
        elif "validate" in parts:
            report["write_ours"] = child("write-ours", str(n), str(t / "ours.xml"))
        if "inputs" in parts:
            report["inputs_ours"] = child("inputs", str(n), "ours")
            report["inputs_sepaxml"] = child("inputs", str(n), "sepaxml")
        if "validate" in parts:
            _validate(report, t, n, args.sepaxml_validate)
        if "ingest" in parts:
            _ingest(report, t, n, baseline=not args.skip_baseline_ingest)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for key, value in report.items():
            if key != "write_rounds":
                print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
