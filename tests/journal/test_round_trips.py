"""Round trips to PostgreSQL per ``collect()``: each one is a hop a busy server makes slow.

Issue 16 item 5: one ``collect()`` took 15 round trips (every statement, BEGIN and COMMIT
on its own). Pipelined writes send what does not need an answer with what does; the
promise stays: the intent + DISPATCHED commit is durable before the channel is called.
"""

from __future__ import annotations

from paychannels import Collector, MemoryChannel, Money, PaymentRequest, Status
from tests.journal.pgturns import counting_proxy


def _request(i: int) -> PaymentRequest:
    return PaymentRequest(
        payer_id=f"15042219900101{i:04d}",
        amount=Money("380.00", "CNY"),
        reference="2026",
        idempotency_key=f"turns-{i}",
        payer_name="张三",
    )


def test_collect_round_trips_on_postgres(pg_url: str) -> None:
    with counting_proxy(pg_url) as (url, counter), Collector.open(url, create=True) as col:
        col.add_channel("hall-1", MemoryChannel())
        col.collect(_request(0), channel="hall-1")  # warm: connection, statements
        turns = []
        for i in range(1, 6):
            counter.reset()
            payment = col.collect(_request(i), channel="hall-1")
            turns.append(counter.turns)
            assert payment.status is Status.SUCCEEDED
        events = col.events(payment_id=payment.id)
    assert [e.to_status for e in events if e.to_status] == [
        Status.CREATED,
        Status.DISPATCHED,
        Status.SUCCEEDED,
    ]
    assert max(turns) <= 7, f"round trips per collect(): {turns}"
