"""PostgreSQL's journal locks belong to one journal: a schema's commits never wait on another's.

A province runs one journal per county in one database; each schema's event-order, feed and
migration locks are its own, while inside one schema event ``seq`` order stays commit order.
The probe holds a journal's append half-way: a trigger on ``pc_events`` (in the probed schema
only) waits on a test lock a plain connection holds, so the append waits with its first event
row built — after the event-order lock, which the insert takes before any row
(``journal.pgevents``; until issue 16 item 5 a statement of its own, so the probe was a
table lock on ``pc_events``, which the one-statement insert now meets before its lock).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from paychannels import Collector, Money, PaymentRequest, open_journal
from paychannels.journal import Journal, NewRecord, pglocks
from paychannels.values.errors import SchemaOutdated
from tests.conftest import pg_schema

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
WAIT = 10.0  # seconds any step may take before the test gives up (nothing hangs CI)
HOLD = 0x7063_686C  # "pchl": the probe's lock kind, keyed by the schema like the journal's


def new(i: int) -> NewRecord:
    r = PaymentRequest(
        payer_id=f"15042219900101{i:04d}",
        amount=Money("380.00", "CNY"),
        reference="2026",
        idempotency_key=f"key-{i}",
    )
    fingerprint = r.fingerprint("hall-1")
    return NewRecord(
        id=f"pay_{i}", kind="payment", channel="hall-1", request=r, fingerprint=fingerprint
    )


@contextmanager
def journals(n: int) -> Iterator[list[tuple[str, Journal]]]:
    """``n`` journals, each in its own fresh schema of the one test database."""
    with pg_schema() as a, pg_schema() as b:
        urls = [a, b][:n]
        opened = [open_journal(u, create=True) for u in urls]
        try:
            yield list(zip(urls, opened, strict=True))
        finally:
            for j in opened:
                j.close()


def in_thread(work: Callable[[], Any]) -> threading.Thread:
    t = threading.Thread(target=work, daemon=True)
    t.start()
    return t


def waiting_on(conn: psycopg.Connection[Any], event: str, table: str = "pc_events") -> int:
    """How many sessions wait on this schema's ``event`` lock: a table's ("relation"), the
    journal's event-order lock ("advisory") or the probe's ("hold").

    Scoped to the watching connection's schema (its ``table``; an advisory lock's second
    key is the schema's oid), so other tests' sessions in the same database never count."""
    if event == "relation":
        where = "locktype = 'relation' AND relation = %s::regclass"
        params: tuple[Any, ...] = (table,)
    else:
        where = (
            "locktype = 'advisory' AND classid = %s::oid AND objid = "
            "(SELECT oid FROM pg_namespace WHERE nspname = current_schema())::oid"
        )
        params = (HOLD if event == "hold" else pglocks.EVENT_ORDER,)
    row = conn.execute(
        f"SELECT count(*) FROM pg_locks WHERE NOT granted AND {where}", params
    ).fetchone()
    assert row is not None
    return int(row[0])


def until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.02)


@contextmanager
def append_held(url: str, journal: Journal) -> Iterator[psycopg.Connection[Any]]:
    """``journal`` appends pay_1 and stays inside that transaction until the block ends."""
    watch = psycopg.connect(url, autocommit=True)
    holder = psycopg.connect(url, autocommit=True)
    holder.execute(
        "CREATE FUNCTION pc_probe_hold() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"PERFORM pg_advisory_xact_lock_shared({HOLD}, {pglocks.SCHEMA_KEY}); RETURN NEW; "
        "END $$"
    )
    holder.execute(
        "CREATE TRIGGER pc_probe_hold BEFORE INSERT ON pc_events "
        "FOR EACH ROW EXECUTE FUNCTION pc_probe_hold()"
    )
    holder.execute(f"SELECT pg_advisory_lock({HOLD}, {pglocks.SCHEMA_KEY})")
    held = in_thread(lambda: journal.create(new(1), now=T0))
    try:
        until(lambda: waiting_on(watch, "hold") == 1, "the append to wait on the probe")
        yield watch
    finally:
        holder.execute(f"SELECT pg_advisory_unlock({HOLD}, {pglocks.SCHEMA_KEY})")
        holder.close()
        held.join(WAIT)
        watch.close()
    assert not held.is_alive()


def test_two_schemas_append_without_waiting_on_each_other() -> None:
    with journals(2) as [(url_a, a), (_url_b, b)]:
        with append_held(url_a, a):
            other = in_thread(lambda: b.create(new(1), now=T0))
            other.join(WAIT)
            # old code: one advisory lock for the database, so county B waited on county A
            assert not other.is_alive(), "a journal in another schema waited on this one's lock"
        assert b.get("pay_1") is not None and a.get("pay_1") is not None


def test_one_schema_still_appends_in_commit_order() -> None:
    with journals(1) as [(url, a)]:
        a2 = open_journal(url)  # another process's connection to the same journal
        try:
            with append_held(url, a) as watch:
                second = in_thread(lambda: a2.create(new(2), now=T0))
                until(lambda: waiting_on(watch, "advisory") == 1, "the second append to wait")
                second.join(0.3)
                assert second.is_alive(), "a second append in one schema did not wait"
            second.join(WAIT)
            assert not second.is_alive()
            seqs = {e.payment_id: e.seq for e in a2.events()}
            assert seqs["pay_1"] < seqs["pay_2"]  # committed first, numbered first
        finally:
            a2.close()


def test_the_schema_version_records_the_lock_scope(pg_url: str) -> None:
    """An older library (one lock for the database) refuses this journal: they never mix."""
    j = open_journal(pg_url, create=True)
    try:
        with psycopg.connect(pg_url) as conn:
            row = conn.execute("SELECT value FROM pc_meta WHERE key = 'advisory_locks'").fetchone()
        assert row == ("schema",)
    finally:
        j.close()


def test_two_schemas_migrate_at_once() -> None:
    """Two counties' journals migrated at the same moment do not queue on one migration lock."""
    with pg_schema() as a, pg_schema() as b:
        first = open_journal(a, create=True)
        holder = psycopg.connect(a)
        try:
            holder.execute("LOCK TABLE pc_meta IN ACCESS EXCLUSIVE MODE")  # a's migrate waits
            blocked = in_thread(first.migrate)  # holds a's migration lock, waits on pc_meta
            with psycopg.connect(a, autocommit=True) as watch:
                migrating = lambda: waiting_on(watch, "relation", "pc_meta") == 1  # noqa: E731
                until(migrating, "a's migration to wait")
            done: list[Journal] = []
            other = in_thread(lambda: done.append(open_journal(b, create=True)))
            other.join(WAIT)
            assert not other.is_alive(), "building a journal in schema b waited on schema a"
            for j in done:
                j.close()
        finally:
            holder.rollback()
            holder.close()
            blocked.join(WAIT)
            first.close()
        assert not blocked.is_alive()


def test_a_journal_of_the_database_wide_lock_is_fenced_until_migrated(pg_url: str) -> None:
    """A version-4 journal (one lock per database) is refused, never run beside; migrating
    it records the schema's locks."""
    open_journal(pg_url, create=True).close()
    with psycopg.connect(pg_url, autocommit=True) as conn:  # as the library of version 4 left it
        conn.execute("DELETE FROM pc_meta WHERE key IN ('advisory_locks', 'schema_version')")
        conn.execute("INSERT INTO pc_meta (key, value) VALUES ('schema_version', '4')")
    with pytest.raises(SchemaOutdated, match="schema version 4"):
        Collector.open(pg_url, migrate=False)
    with Collector.open(pg_url) as col:  # migrates (the upgrade, every old process stopped)
        assert col.journal.schema_version() == 5
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("SELECT value FROM pc_meta WHERE key = 'advisory_locks'").fetchone()
    assert row == ("schema",)
