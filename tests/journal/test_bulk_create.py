"""``collect_many`` on the set-based create path (``journal.bulkcreate``), on SQLite and
PostgreSQL: every guarantee of the row-by-row path holds — each idempotency conflict, open
attempt and paid obligation named per request, in the caller's order; the same rows and
events as the row-by-row path (``journal verify`` replays them); the intents committed
before the channel sees a payment; a rival writer inserting between the check and the
insert settled, not doubled."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from paychannels import Collector, Money, PaymentRequest, Status
from paychannels.journal import NewRecord, open_journal
from paychannels.journal.bulkcreate import SET_MIN
from paychannels.runtime import crashpoints
from paychannels.runtime.clock import SystemClock
from paychannels.values.errors import AlreadyInDoubt, AlreadyPaid, IdempotencyConflict
from paychannels.values.models import Payment

N = 3 * SET_MIN  # enough for the set path


def _request(i: int, *, key: str | None = None, reference: str | None = None) -> PaymentRequest:
    return PaymentRequest(
        payer_id=f"15042219900101{i:04d}",
        amount=Money("380.00", "CNY"),
        reference=reference or f"2026-{i}",
        idempotency_key=key or f"bulk-{i}",
        payer_name=f"张三{i}",
        metadata={"village": "第11嘎查", "account": f"62170000{i:06d}"},
    )


@pytest.fixture
def collector(journal_url: str) -> Iterator[Collector]:
    with Collector.open(journal_url, create=True) as col:
        col.add_channel("m", "memory://")
        yield col


def test_fresh_requests_are_journaled_as_the_row_path_journals_them(collector: Collector) -> None:
    events = []
    collector.subscribe(events.append)
    done = collector.collect_many([_request(i) for i in range(N)], "m")
    assert all(isinstance(p, Payment) and p.status is Status.SUCCEEDED for p in done)
    for p in done:
        assert isinstance(p, Payment)
        assert collector.journal.verify(p.id) == []  # the SQL-built events replay to the row
    one = collector.collect(_request(N), "m")  # the row-by-row path, for comparison
    first = done[0]
    assert isinstance(first, Payment)
    kinds = [
        [(e.type, e.to_status) for e in collector.events(payment_id=p.id)] for p in (first, one)
    ]
    assert kinds[0] == kinds[1]
    assert first.metadata == {"village": "第11嘎查", "account": "62170000000000"}
    published = [e for e in events if e.payment_id == first.id]
    assert [(e.type, e.to_status) for e in published] == kinds[0]
    assert [e.seq for e in published] == [e.seq for e in collector.events(payment_id=first.id)]
    # each published event names its channel as the journal reads it back (a metrics label)
    assert [e.channel for e in published] == [
        e.channel for e in collector.events(payment_id=first.id)
    ]
    assert {e.channel for e in published} == {first.channel}


def test_every_refusal_is_named_per_request_in_the_callers_order(collector: Collector) -> None:
    paid = collector.collect(_request(0), "m")  # SUCCEEDED: paid obligation
    open_one = collector.collect(_request(1), "m", defer=True)  # CREATED: open attempt
    same = collector.collect(_request(2), "m", defer=True)  # its key again, same request
    requests = [_request(i) for i in range(10, 10 + N)]
    requests[5] = _request(100, key="bulk-0", reference="other")  # key reused, other request
    requests[9] = _request(0, key="fresh-0")  # the paid obligation, a new key
    requests[20] = _request(1, key="fresh-1")  # the open obligation, a new key
    requests[30] = _request(2)  # the same key and request: the record it made
    requests[41] = _request(40 + 10)  # requests[40] again: a key twice in one call
    requests[50] = _request(60 + 10, key="twin")  # requests[60]'s obligation, another key
    done = collector.collect_many(requests, "m")
    assert len(done) == N
    assert isinstance(done[5], IdempotencyConflict)
    assert isinstance(done[9], AlreadyPaid) and paid.id in str(done[9])
    assert isinstance(done[20], AlreadyInDoubt) and open_one.id in str(done[20])
    assert isinstance(done[30], Payment) and done[30].id == same.id
    assert isinstance(done[40], Payment) and isinstance(done[41], IdempotencyConflict)
    # one call is journaled in (payer, reference) order, stable: the first of the two wins
    assert isinstance(done[50], Payment)
    assert isinstance(done[60], AlreadyInDoubt) and done[50].id in str(done[60])
    odd = {5, 9, 20, 30, 41, 60}
    for i, p in enumerate(done):
        if i not in odd:
            assert isinstance(p, Payment) and p.status is Status.SUCCEEDED, (i, p)
            assert p.idempotency_key == requests[i].idempotency_key  # the caller's order


def test_the_intents_are_committed_before_the_channel_sees_a_payment(
    collector: Collector, journal_url: str
) -> None:
    seen: list[list[Status]] = []
    other = open_journal(journal_url)  # another connection: sees only what is committed

    def check(name: str) -> None:
        if name == "channel.before_send" and not seen:  # the first payment the channel sees
            seen.append([r.status for r in other.find(channel="m", limit=N + 1)])

    installed = crashpoints.install(check)
    try:
        done = collector.collect_many([_request(i) for i in range(N)], "m")
    finally:
        crashpoints.uninstall(installed)
        other.close()
    assert len(seen) == 1 and len(seen[0]) == N and set(seen[0]) == {Status.DISPATCHED}
    assert all(isinstance(p, Payment) and p.status is Status.SUCCEEDED for p in done)


def test_a_rival_insert_between_check_and_insert_is_settled_not_doubled(pg_url: str) -> None:
    clock = SystemClock()
    rival_request = _request(7)
    with open_journal(pg_url, create=True) as journal, open_journal(pg_url) as rival:
        news = [
            NewRecord(
                id=f"pay_{i:04d}",
                kind="payment",
                channel="m",
                request=_request(i),
                fingerprint=_request(i).fingerprint("m"),
            )
            for i in range(N)
        ]

        def insert_rival(name: str) -> None:
            if name == "journal.bulk_create.classified" and rival.find(limit=1) == []:
                rival.create(
                    NewRecord(
                        id="pay_rival",
                        kind="payment",
                        channel="m",
                        request=rival_request,
                        fingerprint=rival_request.fingerprint("m"),
                    ),
                    now=clock.now(),
                )

        hook = crashpoints.install(insert_rival)
        try:
            done = journal.create_many(news, now=clock.now())
        finally:
            crashpoints.uninstall(hook)
        assert not isinstance(done[7], Exception)
        assert done[7].record.id == "pay_rival" and not done[7].created
        assert all(not isinstance(a, Exception) and a.created for i, a in enumerate(done) if i != 7)
        assert len(journal.find(limit=10 * N)) == N
        assert all(journal.verify(r.id) == [] for r in journal.find(limit=10 * N))
