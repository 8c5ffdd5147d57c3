"""Round trips to PostgreSQL per ``collect()``: each one is a hop a busy server makes slow.

Issue 16 item 5: one ``collect()`` took 15 round trips (every statement, BEGIN and COMMIT
on its own). Pipelined writes send what does not need an answer with what does; the
promise stays: the intent + DISPATCHED commit is durable before the channel is called.
"""

from __future__ import annotations

import pytest

from paychannels import Collector, JournalError, MemoryChannel, Money, PaymentRequest, Status
from tests.journal.pgturns import counting_proxy


def _request(i: int) -> PaymentRequest:
    return PaymentRequest(
        payer_id=f"15042219900101{i:04d}",
        amount=Money("380.00", "CNY"),
        reference="2026",
        idempotency_key=f"turns-{i}",
        payer_name="张三",
    )


def _nothing_left_and_still_usable(col: Collector, key: str, paid: str, next_i: int) -> None:
    """The half-written row was not committed, the paid payment is intact, the link works."""
    with col.journal._transaction(write=False) as tx:  # type: ignore[attr-defined]
        assert tx.one("SELECT value FROM pc_meta WHERE key = ?", (key,)) is None, (
            "the Sync committed half a change"
        )
    assert col.status(paid).status is Status.SUCCEEDED
    assert col.collect(_request(next_i), channel="hall-1").status is Status.SUCCEEDED


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
    # the median: a pipelined statement written while the server already answers the one
    # before counts as a turn when a loaded machine deschedules the client between its
    # writes (seen once, under load); a round trip the code waits on shows in every collect()
    assert sorted(turns)[len(turns) // 2] <= 5, f"round trips per collect(): {turns}"


def _write_then_fail(journal: object) -> None:
    with journal._transaction(write=True, pipeline=True) as tx:  # type: ignore[attr-defined]
        tx.send("INSERT INTO pc_meta (key, value) VALUES ('pipelined', 'x')")
        tx.send("UPDATE pc_events SET type = 'x'")  # refused: events are append-only


def test_a_failure_in_an_unread_statement_commits_nothing(journal_url: str) -> None:
    """Pipelined, a statement nobody reads fails only when COMMIT is answered: the whole
    transaction is rolled back, the error is the journal's own, and the link stays usable."""
    with Collector.open(journal_url, create=True) as col:
        col.add_channel("hall-1", MemoryChannel())
        paid = col.collect(_request(1), channel="hall-1")
        with pytest.raises(JournalError):
            _write_then_fail(col.journal)
        _nothing_left_and_still_usable(col, "pipelined", paid.id, 2)


class _Stop(Exception):
    """Raised by the test in the middle of a pipelined transaction."""


def _write_then_raise(journal: object) -> None:
    with journal._transaction(write=True, pipeline=True) as tx:  # type: ignore[attr-defined]
        tx.send("INSERT INTO pc_meta (key, value) VALUES ('half', 'x')")
        assert tx.run("UPDATE pc_meta SET value = 'y' WHERE key = 'half'") == 1
        raise _Stop()


def test_an_error_of_ours_mid_transaction_commits_nothing(journal_url: str) -> None:
    """Pipelined, the statements up to the Sync are one transaction: a Python error after a
    write was sent (a refusal, a race, an interrupt) must roll it back, not let the Sync
    that leaving the pipeline sends commit half a change."""
    with Collector.open(journal_url, create=True) as col:
        col.add_channel("hall-1", MemoryChannel())
        paid = col.collect(_request(3), channel="hall-1")
        with pytest.raises(_Stop):
            _write_then_raise(col.journal)
        _nothing_left_and_still_usable(col, "half", paid.id, 4)


def test_an_interrupt_while_the_rollback_is_queued_commits_nothing(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second fault while the ROLLBACK is being queued (an interrupt, a driver error)
    must not leave the pipeline's Sync to commit half a change: the link is dropped instead,
    and the server rolls back what it holds."""
    import psycopg

    execute = psycopg.Connection.execute

    def interrupted(self: psycopg.Connection, query: object, *args: object, **kw: object):  # type: ignore[no-untyped-def]
        if query == b"ROLLBACK":
            raise KeyboardInterrupt
        return execute(self, query, *args, **kw)  # type: ignore[arg-type]

    with Collector.open(pg_url, create=True) as col:
        col.add_channel("hall-1", MemoryChannel())
        paid = col.collect(_request(5), channel="hall-1")
        monkeypatch.setattr(psycopg.Connection, "execute", interrupted)
        with pytest.raises(KeyboardInterrupt):
            _write_then_raise(col.journal)
        monkeypatch.setattr(psycopg.Connection, "execute", execute)
        _nothing_left_and_still_usable(col, "half", paid.id, 6)


def test_a_marker_rides_with_its_intent_without_a_round_trip_of_its_own(pg_url: str) -> None:
    """A terminal's marker is written in its intent's transaction; waiting for its answer
    was a round trip made while the event-order lock was held (the events' insert takes it),
    so every other writer of the journal waited on this client too."""
    from paychannels import open_journal
    from paychannels.journal import StateWrite
    from tests.journal.test_journal_contract import T0, new, req

    with counting_proxy(pg_url) as (url, counter):
        journal = open_journal(url, create=True)
        try:
            journal.create(new(req(1), "pay_warm"), now=T0)  # warm: connection, statements
            plain, marked = [], []
            for i in range(2, 6):
                counter.reset()
                journal.create(new(req(i), f"pay_{i}"), now=T0)
                plain.append(counter.turns)
                marker = StateWrite("hall-1", f"zvt.terminal.{i}", {"pending": f"m{i}"}, 0)
                counter.reset()
                applied = journal.create(new(req(i + 10), f"pay_{i + 10}"), now=T0, state=marker)
                marked.append(counter.turns)
                assert applied.created and applied.state_written
        finally:
            journal.close()
    median = sorted(marked)[len(marked) // 2]
    assert median <= sorted(plain)[len(plain) // 2], f"with a marker {marked}, without {plain}"
