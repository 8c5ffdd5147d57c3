"""The backend process the random-kill trials kill: it collects payments and refunds.

Run as ``python -m tests.adversarial.worker SPEC.json``. Like a backend that restarts, every
run does the same thing with the same idempotency keys: recover what a predecessor left
(until settled, bounded), take every payment of the plan, refund those the plan says,
settle again. It prints ``ready`` once its journal and channel are open, so that the test
can time its kill from there.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from paychannels import Collector, Money, PaymentRequest, Status
from tests.adversarial import rigs

CHANNEL = "adv"
_OPEN = (Status.DISPATCHED, Status.UNKNOWN, Status.PENDING)


def request(item: dict[str, Any], currency: str) -> PaymentRequest:
    return PaymentRequest(
        payer_id=item["payer"],
        amount=Money.of_minor(item["amount"], currency),
        reference="2026-adversarial",
        idempotency_key=item["key"],
        payer_name="张三",
    )


def settle(col: Collector, *, batch: bool, seconds: float) -> None:
    """Recover (and, for files, poll) until nothing is open, or nothing changes, or time is up."""
    deadline = time.monotonic() + seconds
    last: dict[Status, int] = {}
    stable = 0
    while True:
        if batch:
            col.poll(CHANNEL)
        col.recover()
        counts = col.journal.count_by_status(channel=CHANNEL)
        if not any(counts.get(s, 0) for s in _OPEN) or time.monotonic() > deadline:
            return
        stable = stable + 1 if counts == last else 0
        if stable >= 5 and not counts.get(Status.PENDING, 0):
            return  # in doubt and the device cannot tell: a person's turn
        last = counts
        time.sleep(0.05)


def refund(col: Collector, item: dict[str, Any], currency: str) -> None:
    payment = col.collect(request(item, currency), CHANNEL)  # the journaled one: never resent
    if payment.status is Status.SUCCEEDED:
        col.refund(
            payment.id,
            Money.of_minor(item["amount"], currency),
            idempotency_key=f"{item['key']}:refund",
        )


def main(path: str) -> None:
    spec = json.loads(Path(path).read_text(encoding="utf-8"))
    plan, currency, batch = spec["plan"], spec["currency"], spec["batch"]
    with Collector.open(spec["db"]) as col:
        col.add_channel(CHANNEL, rigs.client(spec["channel"]))
        print("ready", flush=True)
        settle(col, batch=batch, seconds=spec["settle"])
        for item in plan:
            col.collect(request(item, currency), CHANNEL)
            if item["refund"]:
                refund(col, item, currency)
        settle(col, batch=batch, seconds=spec["settle"])
        for item in plan:  # payments that succeeded only while settling
            if item["refund"]:
                refund(col, item, currency)
        settle(col, batch=batch, seconds=spec["settle"])


if __name__ == "__main__":
    main(sys.argv[1])
