"""A 300,000-payer day's collection-account statement, produced and matched.

The heaviest statement a county's day can give: every payer's bank debit credited item by
item (one camt.053 entry per debit, each naming its request file's ``MsgId`` and its
end-to-end id; 2,000 debits per request file), then the other channels' settlements as
whole credits (two terminals and a MIS-POS batch, two providers' bills, an acquirer's
report), one of them a working day late and one request file's credits short by a fee.

1. **produce**: the simulated bank (``simulators/bank/statement.py``) writes the statement.
2. **match**: in a fresh process, ``check_arrivals`` validates it against the official XSD,
   streams it and matches every credit to the settlements; that process's peak memory
   (``VmHWM``) is reported.

    python benchmarks/statement_day.py [--payers 300000] [--folder DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from _common import hwm_mb

DAY = date(2026, 3, 2)  # a Monday; T+1 is Tuesday
TUE = date(2026, 3, 3)
WED = date(2026, 3, 4)
PER_FILE = 2000
OTHERS = {  # channel: (kind, net minor)
    "hall-1": ("terminal", 1_234_500),
    "hall-2": ("terminal", 987_600),
    "hall-3": ("terminal", 456_700),
    "field-1": ("provider", 765_400),
    "wx": ("provider", 2_345_600),
    "ali": ("provider", 1_876_500),
}


def _amount(i: int) -> int:
    return (200, 300, 500, 800, 1000)[i % 5] * 100


def settlements(payers: int) -> dict[str, list[Any]]:
    """The day's settlements: one per request file for the bank, one per other channel."""
    from paychannels.channels.settlement import Settlement, SettlementKind

    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    files = (payers + PER_FILE - 1) // PER_FILE
    bank = []
    for f in range(files):
        net = sum(_amount(i) for i in range(f * PER_FILE, min((f + 1) * PER_FILE, payers)))
        bank.append(
            Settlement(SettlementKind.BANK, f"file-{f}", f"result file {f}", "CNY", at, net,
                       detail={"refs": [f"KYQ{f:06d}"]})
        )  # fmt: skip
    out: dict[str, list[Any]] = {"bank": bank}
    for name, (kind, net) in OTHERS.items():
        dates = (DAY.isoformat(),) if kind == "provider" else ()
        out[name] = [Settlement(SettlementKind(kind), name, name, "CNY", at, net, dates=dates)]
    return out


def produce(folder: Path, payers: int) -> tuple[list[Path], float]:
    """Write the statements; returns them and the seconds it took."""
    from paychannels.simulators.bank.statement import Booking, CollectionAccount

    started = time.perf_counter()
    account = CollectionAccount("15050171001234567890")
    short_file = 3
    for i in range(payers):
        f = i // PER_FILE
        minor = _amount(i) - (500 if f == short_file and i % PER_FILE == 0 else 0)
        account.book(
            Booking(minor, DAY, msg_id=f"KYQ{f:06d}", end_to_end=f"01JD{i:022d}-1")
        )  # fmt: skip
    for name, (_kind, net) in OTHERS.items():
        account.book(Booking(net, WED if name == "hall-2" else TUE, text=f"结算款 {name}"))
    paths = account.statements(folder, DAY, WED)
    return paths, time.perf_counter() - started


def match(paths: list[Path], payers: int) -> dict[str, Any]:
    """Match in this process; seconds, the verdict, and this process's peak memory."""
    from paychannels.reconcile.arrivals import ArrivalRules, check_arrivals

    started = time.perf_counter()
    report = check_arrivals(settlements(payers), {}, paths, ArrivalRules())
    seconds = time.perf_counter() - started
    peak = hwm_mb()
    statuses: dict[str, int] = {}
    for a in report.arrivals:
        statuses[a.status] = statuses.get(a.status, 0) + 1
    return {
        "seconds": round(seconds, 2),
        "peak_mb": round(peak, 1),
        "credits": report.statements.credits,
        "statuses": statuses,
        "late": sorted({a.channel for a in report.arrivals if a.late}),
        "short": [a.sources[0] for a in report.named("short")],
        "unexplained": len(report.unexplained),
        "verdict": report.verdict(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payers", type=int, default=300_000)
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--match", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.match is not None:  # the child: match and print
        print(json.dumps(match(args.match, args.payers)))
        return 0
    folder = args.folder or Path(tempfile.mkdtemp(prefix="statement-day-"))
    paths, produced = produce(folder, args.payers)
    size = sum(p.stat().st_size for p in paths)
    child = subprocess.run(
        [sys.executable, __file__, "--payers", str(args.payers), "--match", *map(str, paths)],
        capture_output=True, text=True, check=True, timeout=3600,
    )  # fmt: skip
    result = {
        "payers": args.payers,
        "statements": len(paths),
        "statement_mb": round(size / 2**20, 1),
        "produce_seconds": round(produced, 2),
        "match": json.loads(child.stdout),
    }
    assert result["match"]["late"] == ["hall-2"], result
    assert result["match"]["short"] == ["result file 3"], result
    assert result["match"]["unexplained"] == 0, result
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        m = result["match"]
        print(
            f"{args.payers:,} payers: statement of {result['statement_mb']} MB "
            f"({m['credits']:,} credits) produced in {result['produce_seconds']} s; matched in "
            f"{m['seconds']} s, peak {m['peak_mb']} MB; {m['verdict']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
