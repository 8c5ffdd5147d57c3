"""The bank flush alone at province scale: its peak memory flat in the spool's size.

A spool of N debits is written straight into a channel's exchange (nothing journaled), then
``BankBatchChannel.flush`` runs (plan, write 50,000-debit pain.008 files, recount, ledger,
publish, archive). Each run is its own process; the peak resident set of the flush alone is
``VmHWM`` reset through ``/proc/self/clear_refs`` just before it. With ``--old`` the same
steps run on another tree of the library, interleaved with this one, size by size.

    python benchmarks/bank_flush_peak.py --sizes 300000,3000000 [--old /tmp/old]
    # /tmp/old: git archive REV src | tar -x -C /tmp/old
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from _common import hwm_mb, step
from bank_build_scale import CREDITOR

ROWS_PER_FILE = 50_000


def side_flush(n: int, folder: Path) -> dict[str, Any]:
    """Spool n debits (not timed), then flush them: wall, CPU and the flush's own peak."""
    from paychannels import Collector
    from paychannels.bankfiles.model import Debit
    from paychannels.bankfiles.split import Limits
    from paychannels.channels.bank import BankBatchChannel, load_creditor
    from paychannels.channels.bank.formats import open_format
    from paychannels.channels.bank.spool import Spool, SpoolGroup, to_line

    (folder / "CREDITOR.toml").write_text(CREDITOR, encoding="utf-8")  # the build's creditor
    creditor = load_creditor(folder / "CREDITOR.toml")
    ch = BankBatchChannel(
        folder / "x",
        format=open_format("pain.008.001.08"),
        creditor=creditor,
        limits=Limits(rows_per_file=ROWS_PER_FILE),
    )
    ch.exchange.ensure()
    group = SpoolGroup(date(2026, 3, 3), "RCUR")

    def debit(i: int) -> Debit:
        return Debit(
            end_to_end_id=f"E2E{i:012d}",
            amount_minor=1_000 + i * 7919 % 10_000_000,
            currency="CNY",
            name=f"张三{i % 1000}",
            account=f"6217000010{i:09d}",
            bank="105191000011",
            mandate_id=f"DK2025{i:08d}",
            mandate_date=date(2025, 3, 1),
            collection_date=group.collection_date,
            remittance="城乡居民养老保险 2026",
            payer_id=f"P{i:017d}",
            payment_id=f"pay_{i}",
        )

    spool = Spool(ch.exchange.spool)
    for start in range(0, n, 50_000):
        spool.append(group, [to_line(debit(i)) for i in range(start, min(n, start + 50_000))])
    with Collector.open(f"sqlite:///{folder}/j.db", create=True) as col:
        col.add_channel("bank", ch)
        ctx = col.channel_context("bank")
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM from here: the flush's own
        started, before = time.perf_counter(), os.times()
        files = ch.flush(ctx)
        after = os.times()
        wall = time.perf_counter() - started
    return {
        "debits": sum(f.count for f in files),
        "files": len(files),
        "wall": round(wall, 1),
        "cpu": round(after.user + after.system - before.user - before.system, 1),
        "flush_peak_mb": round(hwm_mb(), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="300000,3000000")
    parser.add_argument("--old", type=Path, help="another tree of the library, run interleaved")
    parser.add_argument("--side", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side is not None:
        import json

        print(json.dumps(side_flush(args.side, args.folder)))
        return
    trees: dict[str, dict[str, str] | None] = {"this": None}
    if args.old is not None:
        trees["old"] = {**os.environ, "PYTHONPATH": str(args.old / "src")}
    print(
        f"{'debits':>10} {'tree':>5} {'files':>5} {'wall s':>8} {'CPU s':>7} "
        f"{'CPU µs/debit':>12} {'flush peak MB':>13}  load"
    )
    for n in (int(s) for s in args.sizes.split(",")):
        for name, env in trees.items():
            folder = Path(tempfile.mkdtemp(prefix="bank-flush-peak-"))
            try:
                got = step(
                    __file__, f"{name} {n}", "--side", str(n), "--folder", str(folder), env=env
                )
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            load = Path("/proc/loadavg").read_text().split()[0]
            print(
                f"{got['debits']:>10,} {name:>5} {got['files']:>5} {got['wall']:>8.1f} "
                f"{got['cpu']:>7.1f} {got['cpu'] / n * 1e6:>12.1f} "
                f"{got['flush_peak_mb']:>13.1f}  {load}",
                flush=True,
            )


if __name__ == "__main__":
    sys.exit(main())
