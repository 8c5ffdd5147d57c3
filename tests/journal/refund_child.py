"""The process the outcome-sync test kills: a payment, then a refund of part of it.

Run as ``python refund_child.py DB_URL LEDGER_PATH PHASE``; PHASE ``work`` pays and refunds
(the parent arms a kill after the refund's outcome commit), ``restart`` recovers. The
device is a memory channel on a file ledger, whose truth survives the kill.
"""

from __future__ import annotations

import sys

from paychannels import Collector, Money, PaymentRequest
from paychannels.channels.ledger import FileLedger
from paychannels.channels.memory import MemoryChannel
from tests.crashkit import install_from_env

REQUEST = PaymentRequest(
    payer_id="150422199001010001",
    amount=Money("100.00", "CNY"),
    reference="2026-养老",
    idempotency_key="sync-1",
    payer_name="张三",
)


def main(db_url: str, ledger: str, phase: str) -> None:
    with Collector.open(db_url, create=phase == "work") as col:
        col.add_channel("hall-1", MemoryChannel(FileLedger(ledger)))
        if phase == "work":
            payment = col.collect(REQUEST, channel="hall-1")
            col.refund(payment.id, Money("30.00", "CNY"), idempotency_key="sync-1-refund")
        else:
            col.recover()


if __name__ == "__main__":
    install_from_env()
    main(*sys.argv[1:4])
