"""A collecting backend for the restore drill: pays on while the journal is backed up.

Run as ``python writer_child.py DB_URL LEDGER WORKDIR``. One thread ("held") sends a payment
and stops right after the device charged it — DISPATCHED in the journal, money taken — until
``WORKDIR/release`` appears; the main thread collects up to ``LIMIT`` payments, appending
``id key status`` to ``WORKDIR/acks`` after each ``collect()`` returned (acknowledged to the
payer), until ``WORKDIR/stop`` appears. Every wait is bounded.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from paychannels import Collector, Money, PaymentRequest
from paychannels.channels.ledger import FileLedger
from paychannels.channels.memory import Behaviour, MemoryChannel
from paychannels.runtime import crashpoints

LIMIT = 2000
HELD_KEY = "drill-held"
WAIT = 60.0


def plan(key: str) -> Behaviour:
    """What the device does, fixed by the key: some declined, some answers lost (UNKNOWN)."""
    if key == HELD_KEY:
        return Behaviour.APPROVE
    n = int(key.rsplit("-", 1)[1])
    return {3: Behaviour.DECLINE, 7: Behaviour.LOSE_REPLY}.get(n % 10, Behaviour.APPROVE)


def request(key: str, n: int) -> PaymentRequest:
    return PaymentRequest(
        payer_id=f"15042219900101{n:04d}",
        amount=Money.of_minor(38000 + n, "CNY"),
        reference="2026-养老",
        idempotency_key=key,
        payer_name="张三",
    )


def hold(workdir: Path) -> crashpoints.CrashHook:
    """Stop the "held" thread after the device charged, until the test releases it."""

    def hook(point: str) -> None:
        if point != "channel.after_send" or threading.current_thread().name != "held":
            return
        (workdir / "held").touch()
        deadline = time.monotonic() + WAIT
        while not (workdir / "release").exists() and time.monotonic() < deadline:
            time.sleep(0.01)

    return hook


def main(db_url: str, ledger: str, workdir_text: str) -> None:
    workdir = Path(workdir_text)
    channel = MemoryChannel(FileLedger(ledger))
    channel.rules.append(lambda record: plan(record.idempotency_key))
    crashpoints.install(hold(workdir))
    with Collector.open(db_url) as col, (workdir / "acks").open("a") as acks:
        col.add_channel("hall-1", channel)
        held = threading.Thread(
            target=col.collect, args=(request(HELD_KEY, 9999), "hall-1"), name="held"
        )
        held.start()
        for n in range(LIMIT):
            if (workdir / "stop").exists():
                break
            key = f"drill-{n}"
            payment = col.collect(request(key, n), "hall-1")
            acks.write(f"{payment.id} {key} {payment.status.value}\n")
            acks.flush()
        held.join(WAIT)


if __name__ == "__main__":
    main(*sys.argv[1:4])
