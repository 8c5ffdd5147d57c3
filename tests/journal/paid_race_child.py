"""One of several backend processes paying the same obligations, each with its own keys.

``python paid_race_child.py DB_URL LEDGER BARRIER_DIR NAME PROCESSES OBLIGATIONS``: each
process tries every obligation with a fresh idempotency key (as a second channel, or the
same backend after a restart, would) and treats the journal's refusals as answers.
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

from paychannels import AlreadyInDoubt, AlreadyPaid, Collector, Money, PaymentRequest
from paychannels.channels.ledger import FileLedger
from paychannels.channels.memory import MemoryChannel


def barrier(folder: Path, name: str, processes: int) -> None:
    (folder / name).touch()
    deadline = time.monotonic() + 60
    while len(list(folder.iterdir())) < processes:
        if time.monotonic() > deadline:
            raise SystemExit("the other racers never came")
        time.sleep(0.005)


def main(db: str, ledger: str, folder: str, name: str, processes: str, obligations: str) -> None:
    with Collector.open(db) as col:
        col.add_channel("hall-1", MemoryChannel(FileLedger(ledger)))
        barrier(Path(folder), name, int(processes))
        n = int(obligations)
        order = range(n) if int(name[1:]) % 2 == 0 else range(n - 1, -1, -1)
        for i in order:
            request = PaymentRequest(
                payer_id=f"P{i:05d}",
                amount=Money("10.00", "CNY"),
                reference="2026",
                idempotency_key=f"{name}-{i}",
            )
            with contextlib.suppress(AlreadyPaid, AlreadyInDoubt):  # the journal's answer
                col.collect(request, channel="hall-1")


if __name__ == "__main__":
    main(*sys.argv[1:7])
