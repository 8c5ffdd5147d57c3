"""One of two backend processes racing over the same 500 payments on one PostgreSQL.

``python race_child.py DB_URL LEDGER BARRIER_DIR NAME MODE`` where MODE is ``collect`` (both
call collect() with the same idempotency keys) or ``dispatch`` (both drain the deferred
payments with dispatch_pending()). Both wait at a file barrier so they really start together.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from paychannels import Collector, Money, PaymentRequest
from paychannels.channels.ledger import FileLedger
from paychannels.channels.memory import MemoryChannel

N = 500


def request(i: int) -> PaymentRequest:
    return PaymentRequest(
        payer_id=f"P{i:06d}",
        amount=Money("10.00", "CNY"),
        reference="2026",
        idempotency_key=f"race-{i}",
    )


def barrier(folder: Path, name: str) -> None:
    (folder / name).touch()
    deadline = time.monotonic() + 60
    while len(list(folder.iterdir())) < 2:
        if time.monotonic() > deadline:
            raise SystemExit("the other racer never came")
        time.sleep(0.005)


def main(db: str, ledger: str, folder: str, name: str, mode: str) -> None:
    with Collector.open(db) as col:
        col.add_channel("hall-1", MemoryChannel(FileLedger(ledger)))
        barrier(Path(folder), name)
        if mode == "collect":
            order = range(N) if name == "a" else range(N - 1, -1, -1)
            for i in order:
                col.collect(request(i), channel="hall-1")
        else:
            while col.dispatch_pending(channel="hall-1", limit=50):
                pass


if __name__ == "__main__":
    main(*sys.argv[1:6])
