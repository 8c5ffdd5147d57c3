"""The backend process the ZVT crash test kills: three payments through a simulated terminal.

Run as ``python crash_child.py DB_URL PORT PHASE``; the parent arms a crash point via
PAYCHANNELS_CRASH_AT and runs the terminal simulator (its truth survives the kill).
"""

from __future__ import annotations

import sys

from paychannels import Collector, Money, PaymentRequest

PASSWORD = "246813"
PLAN = {"crash-1": "100.00", "crash-2": "200.00", "crash-3": "300.00"}  # 300.00 is declined


def requests() -> list[PaymentRequest]:
    return [
        PaymentRequest(
            payer_id=f"15042219900101{i:04d}",
            amount=Money(amount, "CNY"),
            reference="2026-养老",
            idempotency_key=key,
            payer_name="张三",
        )
        for i, (key, amount) in enumerate(PLAN.items(), start=1)
    ]


def main(db_url: str, port: str, phase: str) -> None:
    with Collector.open(db_url) as col:
        col.add_channel("hall-1", f"zvt+tcp://127.0.0.1:{port}?t3=1&t4=3", password=PASSWORD)
        for _ in range(2 if phase == "restart" else 1):
            for req in requests():
                col.collect(req, channel="hall-1")
            col.recover()


if __name__ == "__main__":
    main(*sys.argv[1:4])
