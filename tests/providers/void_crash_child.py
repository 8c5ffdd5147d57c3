"""A till backend paying by scanned code, voiding that payment, or recovering in a fresh process.

``pay PLAN CODE``: collect the payment (the parent may SIGKILL this process during the wait's
reverse). ``void PLAN``: void the journaled payment (``cancel``); the parent SIGKILLs it once
the provider has given the money back. ``recover PLAN``: a fresh process, its clock ``LATER``
seconds on, recovers until nothing is in flight or in doubt (bounded), never holding the code.
PLAN is a JSON file the parent wrote: journal URL, channel URL and options.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from paychannels import Collector, Money, PaymentRequest
from paychannels.runtime.clock import SystemClock
from paychannels.values.status import Status

LATER = 200.0
KEY = "hall-7-till-1"


class Later(SystemClock):
    """The real clock, read ``LATER`` seconds on (recovery well after the scan)."""

    def now(self) -> datetime:
        return super().now() + timedelta(seconds=LATER)


def main(mode: str, plan_path: str, code: str = "") -> None:
    plan = json.loads(Path(plan_path).read_text(encoding="utf-8"))
    col = Collector.open(plan["db"], clock=Later() if mode == "recover" else None)
    try:
        col.add_channel("codes", plan["url"], **plan["options"])
        if mode == "pay":
            request = PaymentRequest(
                payer_id="150422199001010001",
                amount=Money.of_minor(plan["fen"], "CNY"),
                reference="2026-养老保险",
                idempotency_key=KEY,
                payment_code=code,
            )
            print(col.collect(request, channel="codes").status)
            return
        (record,) = col.journal.find(limit=10)
        if mode == "void":
            print(col.cancel(record.id).status)
            return
        for _ in range(40):  # bounded: every wait in a crash test ends
            col.recover()
            record = col.status(record.id)
            if record.status not in (Status.DISPATCHED, Status.UNKNOWN, Status.PENDING) and (
                record.claimed_by is None
            ):
                break
            time.sleep(0.1)
        print(record.status)
    finally:
        col.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
