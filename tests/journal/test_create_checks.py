"""A new record's checks (the obligation and the idempotency key) past one read's limit.

Up to 500 payers and keys the two checks are one statement; beyond, the payers' reads go
first and the keys' after (``journal.sqlwrites._check_queries``). Either way each request
gets its own verdict: the record its key already made, a paid obligation refused, an open
attempt named (a paid obligation: tests/journal/test_already_paid.py).
"""

from __future__ import annotations

from paychannels import Money, PaymentRequest
from paychannels.journal import NewRecord, open_journal
from paychannels.runtime.clock import SystemClock
from paychannels.values.errors import AlreadyInDoubt

N = 1200  # past the 500 values of one IN list, for payers and for keys


def _new(i: int, channel: str, *, key: str | None = None) -> NewRecord:
    request = PaymentRequest(
        payer_id=f"15042219900101{i:04d}",
        amount=Money("380.00", "CNY"),
        reference="2026",
        idempotency_key=key or f"checks-{i}",
    )
    return NewRecord(
        id=f"pay_checks_{i:05d}_{channel}",
        kind="payment",
        channel=channel,
        request=request,
        fingerprint=request.fingerprint(channel),
    )


def test_each_request_gets_its_verdict_past_one_reads_limit(journal_url: str) -> None:
    clock = SystemClock()
    journal = open_journal(journal_url, create=True)
    try:
        made = journal.create(_new(900, "a"), now=clock.now())  # an open attempt (CREATED)
        assert made.created
        # two channels: the row path (the set path takes one channel), so _check_queries reads
        news = [_new(i, "a" if i % 2 else "b") for i in range(N)]
        news[900] = _new(900, "a")  # the same key and request: the record it made
        news[1100] = _new(900, "b", key="checks-other")  # the open obligation, a new key
        done = journal.create_many(news, now=clock.now())
        same = done[900]
        assert not isinstance(same, Exception)
        assert same.record.id == made.record.id and not same.created
        assert isinstance(done[1100], AlreadyInDoubt)
        fresh = [d for i, d in enumerate(done) if i not in (900, 1100)]
        assert all(not isinstance(d, Exception) and d.created for d in fresh)
        again = journal.create_many([_new(5, "b", key="checks-paid-again")], now=clock.now())
        assert isinstance(again[0], AlreadyInDoubt)  # payer 5's attempt is still open
    finally:
        journal.close()
