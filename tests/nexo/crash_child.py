"""The backend process the nexo crash test kills: three payments through a simulated cloud.

Run as ``python crash_child.py DB_URL BASE_URL PHASE``; the parent arms a crash point via
PAYCHANNELS_CRASH_AT and runs the simulator (its truth survives the kill).
"""

from __future__ import annotations

import sys

from paychannels import Collector, Money, PaymentRequest

API_KEY = "AQEyhmfxK4-crash-api-key-0123456789"
POIID = "P400Plus-275039202"
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


def main(db_url: str, base: str, phase: str) -> None:
    with Collector.open(db_url) as col:
        url = f"nexo+{base}/?poi={POIID}&status_wait=0&timeout=5"
        col.add_channel("cloud", url, api_key=API_KEY, backoff=0.01)
        for _ in range(2 if phase == "restart" else 1):
            for req in requests():
                col.collect(req, channel="cloud")
            col.recover()


if __name__ == "__main__":
    main(*sys.argv[1:4])
