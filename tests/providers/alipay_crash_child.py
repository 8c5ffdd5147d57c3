"""A till backend taking one scanned Alipay code, or recovering later in a fresh process.

``collect JOURNAL URL CONFIG CODE``: collect the payment with the scanned code (the parent
may SIGKILL this process at any step of pay → wait → query → cancel).
``recover JOURNAL URL CONFIG``: a fresh process, some minutes later (its clock runs
``LATER`` seconds ahead: the wait and the codes' lifetime are over), recovers until the
payment is settled; it never holds the code.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta

from paychannels import Collector, Money, PaymentRequest, open_channel
from paychannels.runtime.clock import SystemClock
from paychannels.values.status import Status

LATER = 200.0
#: what recovery works on: in flight when killed, in doubt, or waiting for the payer
KEY = "hall-7-till-1"


class Later(SystemClock):
    """The real clock, read ``LATER`` seconds on (recovery well after the scan)."""

    def now(self) -> datetime:
        return super().now() + timedelta(seconds=LATER)


def request(code: str | None) -> PaymentRequest:
    return PaymentRequest(
        payer_id="150422199001010001",
        amount=Money("380.00", "CNY"),
        reference="2026-养老保险",
        idempotency_key=KEY,
        payment_code=code,
    )


def main(mode: str, journal: str, url: str, config: str, code: str = "") -> None:
    later = mode == "recover"
    col = Collector.open(journal, create=not later, clock=Later() if later else None)
    try:
        col.add_channel("ali", open_channel(url, config=config, backoff=0.01))
        if not later:
            print(col.collect(request(code), channel="ali").status)
            return
        (record,) = col.journal.find(limit=10)
        for _ in range(40):
            col.recover()
            record = col.status(record.id)
            if record.status not in (Status.DISPATCHED, Status.UNKNOWN, Status.PENDING):
                break
            time.sleep(0.1)
        print(record.status)
    finally:
        col.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
