"""The backend process the crash tests kill: collects three payments, then recovers.

Run as ``python crash_child.py DB_URL LEDGER_PATH PHASE``; the parent arms a crash point via
PAYCHANNELS_CRASH_AT, which the test kit's killer reads before anything runs. Behaviour per
payment is fixed by its key, so a restarted process scripts the simulated device exactly as
the first one did.
"""

from __future__ import annotations

import sys

from paychannels import Collector, Money, PaymentRequest
from paychannels.channels.ledger import FileLedger
from paychannels.channels.memory import Behaviour, MemoryChannel
from tests.crashkit import install_from_env

PLAN = {
    "crash-1": Behaviour.APPROVE,
    "crash-2": Behaviour.LOSE_REPLY,
    "crash-3": Behaviour.DECLINE,
}


def requests() -> list[PaymentRequest]:
    return [
        PaymentRequest(
            payer_id=f"15042219900101{i:04d}",
            amount=Money(f"{100 * i}.00", "CNY"),
            reference="2026-养老",
            idempotency_key=key,
            payer_name="张三",
        )
        for i, key in enumerate(PLAN, start=1)
    ]


def main(db_url: str, ledger: str, phase: str) -> None:
    channel = MemoryChannel(FileLedger(ledger))
    channel.rules.append(lambda record: PLAN.get(record.idempotency_key))
    with Collector.open(db_url, create=phase != "restart") as col:
        col.add_channel("hall-1", channel)
        rounds = 2 if phase == "restart" else 1
        for _ in range(rounds):
            # the backend retries every request with its key at once (before any recovery),
            # then recovers; a restarted backend does this twice
            for req in requests():
                col.collect(req, channel="hall-1")
            col.recover()


if __name__ == "__main__":
    install_from_env()
    main(*sys.argv[1:4])
