"""The payment requests the terminal benchmarks send: one payer id and one key per payment.

Imported by the benchmark scripts (run as ``python benchmarks/<name>.py``, so this folder
is on the path); not part of the package.
"""

from __future__ import annotations

import time

from paychannels import Money, PaymentRequest

__all__ = ["bench_request"]


def bench_request(i: int) -> PaymentRequest:
    """The i-th payment: ¥380.00 from a resident, a key no earlier run used."""
    return PaymentRequest(
        payer_id=f"15042219900101{i % 10000:04d}",
        amount=Money("380.00", "CNY"),
        reference=f"2026-{i}",
        idempotency_key=f"bench-{i}-{time.time_ns()}",
        payer_name="张三",
    )
