"""A PostgreSQL journal's two big tables partitioned: events by month, payments by payer.

Opt-in, run once on a journal at this library's schema version (``partition_journal``); the
library's reads and writes are the same afterwards. Every rule the journal keeps in the
database still holds: the obligation indexes already lead with the payer, the partition key
of ``pc_payments``; the primary key and the idempotency key, which a partitioned table can
only enforce per payer, stay unique across partitions through ``pc_payment_keys`` (filled by
a trigger in the insert's own transaction). The foreign keys *to* ``pc_payments`` are dropped
(PostgreSQL cannot reference a key without the partition column); the library writes an
event or a feed line only with its payment, in one transaction. docs/scale.md measures it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from paychannels.journal import pglocks
from paychannels.journal.postgres import PostgresJournal
from paychannels.security.masking import redact_url, scrub
from paychannels.values.errors import InvalidRequest, JournalError

if TYPE_CHECKING:
    import psycopg

__all__ = ["Partitioning", "add_event_months", "event_months", "partition_journal"]

_META_KEY = "partitioning"
_OLD = "_unpartitioned"


@dataclass(frozen=True, slots=True)
class Partitioning:
    """How to partition: hash partitions of payments by payer, months of events made ahead."""

    payer_partitions: int = 8
    months_ahead: int = 12

    def __post_init__(self) -> None:
        if not 1 <= self.payer_partitions <= 1024:
            raise InvalidRequest(f"payer_partitions must be 1..1024, not {self.payer_partitions!r}")
        if not 0 <= self.months_ahead <= 120:
            raise InvalidRequest(f"months_ahead must be 0..120, not {self.months_ahead!r}")


def partition_journal(url: str, plan: Partitioning, *, now: datetime | None = None) -> list[str]:
    """Turn the journal at ``url`` into its partitioned form, its rows kept; the partitions made.

    One transaction under the migration lock: on any error nothing has changed. A journal
    already partitioned, or not at this library's schema version, is refused.
    """
    _check_journal(url)
    today = (now or datetime.now(UTC)).date()
    with _ddl(url) as conn:
        if _meta(conn) is not None:
            raise JournalError(f"journal {_where(url)} is already partitioned")
        conn.execute("LOCK TABLE pc_payments, pc_events, pc_feed_lines IN ACCESS EXCLUSIVE MODE")
        first = conn.execute("SELECT min(at) FROM pc_events").fetchone()
        start = min(today, first[0].astimezone(UTC).date()) if first and first[0] else today
        made = _payments(conn, plan.payer_partitions)
        made += _events(conn, _months(start, today, plan.months_ahead))
        conn.execute(
            "INSERT INTO pc_meta (key, value) VALUES (%s, %s)",
            (_META_KEY, json.dumps({"payer_partitions": plan.payer_partitions})),
        )
        conn.execute("ANALYZE pc_payments")
        conn.execute("ANALYZE pc_events")
    return made


def add_event_months(url: str, *, months_ahead: int = 12, now: datetime | None = None) -> list[str]:
    """Make the monthly event partitions missing from now to ``months_ahead``; the names made.

    Run it more often than ``months_ahead`` (the janitor's day or a cron): events of a month
    without its partition land in ``pc_events_default``, and a month cannot be made once
    that partition holds rows of it.
    """
    today = (now or datetime.now(UTC)).date()
    with _ddl(url) as conn:
        if _meta(conn) is None:
            raise JournalError(f"journal {_where(url)} is not partitioned")
        have = set(event_months(conn))
        wanted = [m for m in _months(today, today, months_ahead) if m not in have]
        return [_month_partition(conn, m) for m in wanted]


def event_months(conn: psycopg.Connection[Any]) -> list[date]:
    """The months that have an event partition of their own, in order."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'pc_events'::regclass AND c.relname ~ '^pc_events_[0-9]{6}$'"
    ).fetchall()
    return sorted(date(int(r[0][10:14]), int(r[0][14:16]), 1) for r in rows)


# -- the steps ------------------------------------------------------------------------------


def _payments(conn: psycopg.Connection[Any], partitions: int) -> list[str]:
    """pc_payments by hash of payer_id; the ids and keys kept unique in pc_payment_keys."""
    conn.execute(
        "CREATE TABLE pc_payment_keys (id TEXT PRIMARY KEY, idempotency_key TEXT NOT NULL "
        "CONSTRAINT pc_payment_keys_idempotency_key UNIQUE)"
    )
    conn.execute(
        "CREATE FUNCTION pc_payment_keys_add() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN INSERT INTO pc_payment_keys (id, idempotency_key) "
        "VALUES (NEW.id, NEW.idempotency_key); RETURN NULL; END $$"
    )
    _rebuild(conn, "pc_payments", "HASH (payer_id)", "payer_id")
    made = []
    for k in range(partitions):
        name = f"pc_payments_p{k}"
        conn.execute(
            f"CREATE TABLE {name} PARTITION OF pc_payments "
            f"FOR VALUES WITH (MODULUS {partitions}, REMAINDER {k})"
        )
        made.append(name)
    conn.execute(f"INSERT INTO pc_payments SELECT * FROM pc_payments{_OLD}")
    conn.execute(f"DROP TABLE pc_payments{_OLD}")
    conn.execute("INSERT INTO pc_payment_keys SELECT id, idempotency_key FROM pc_payments")
    conn.execute(
        "CREATE TRIGGER pc_payment_keys_add AFTER INSERT ON pc_payments "
        "FOR EACH ROW EXECUTE FUNCTION pc_payment_keys_add()"
    )
    return made


def _events(conn: psycopg.Connection[Any], months: list[date]) -> list[str]:
    """pc_events by range of ``at``, a partition a month and a default one; seq goes along."""
    sequence = conn.execute("SELECT pg_get_serial_sequence('pc_events', 'seq')").fetchone()
    _rebuild(conn, "pc_events", "RANGE (at)", "at")
    made = [_month_partition(conn, m) for m in months]
    conn.execute("CREATE TABLE pc_events_default PARTITION OF pc_events DEFAULT")
    if sequence and sequence[0]:  # the seq numbers live on: the sequence moves to the new table
        conn.execute(f"ALTER SEQUENCE {sequence[0]} OWNED BY pc_events.seq")
    conn.execute(f"INSERT INTO pc_events SELECT * FROM pc_events{_OLD}")
    conn.execute(f"DROP TABLE pc_events{_OLD}")
    return [*made, "pc_events_default"]


def _rebuild(conn: psycopg.Connection[Any], table: str, by: str, column: str) -> None:
    """Rename ``table`` aside and create it again partitioned ``by``, with its checks, indexes
    and triggers; its primary and unique keys get the partition ``column``; foreign keys
    to and from it are dropped."""
    indexes = conn.execute(
        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
        "JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = %s::regclass "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)",
        (table,),
    ).fetchall()
    triggers = conn.execute(
        "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = %s::regclass "
        "AND NOT tgisinternal",
        (table,),
    ).fetchall()
    keyed = conn.execute(
        "SELECT conname, contype FROM pg_constraint WHERE conrelid = %s::regclass "
        "AND contype IN ('p', 'u')",
        (table,),
    ).fetchall()
    for owner, name in conn.execute(
        "SELECT conrelid::regclass::text, conname FROM pg_constraint WHERE contype = 'f' "
        "AND (confrelid = %s::regclass OR conrelid = %s::regclass)",
        (table, table),
    ).fetchall():
        conn.execute(f'ALTER TABLE {owner} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    conn.execute(f"ALTER TABLE {table} RENAME TO {table}{_OLD}")
    for name, _ in keyed:
        conn.execute(f'ALTER TABLE {table}{_OLD} RENAME CONSTRAINT "{name}" TO "{name}{_OLD}"')
    conn.execute(
        f"CREATE TABLE {table} (LIKE {table}{_OLD} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
        f"PARTITION BY {by}"
    )
    for name, kind in keyed:
        columns = _key_columns(conn, f"{table}{_OLD}", f"{name}{_OLD}")
        what = "PRIMARY KEY" if kind == "p" else "UNIQUE"
        conn.execute(
            f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {what} ({", ".join([*columns, column])})'
        )
    for _, definition in indexes:
        conn.execute(definition)
    for (definition,) in triggers:
        conn.execute(definition)


def _key_columns(conn: psycopg.Connection[Any], table: str, constraint: str) -> list[str]:
    rows = conn.execute(
        "SELECT a.attname FROM pg_constraint c CROSS JOIN LATERAL unnest(c.conkey) "
        "WITH ORDINALITY AS k(attnum, n) JOIN pg_attribute a ON a.attrelid = c.conrelid "
        "AND a.attnum = k.attnum WHERE c.conrelid = %s::regclass AND c.conname = %s ORDER BY k.n",
        (table, constraint),
    ).fetchall()
    return [str(r[0]) for r in rows]


def _month_partition(conn: psycopg.Connection[Any], month: date) -> str:
    end = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    name = f"pc_events_{month:%Y%m}"
    conn.execute(
        f"CREATE TABLE {name} PARTITION OF pc_events "
        f"FOR VALUES FROM ('{month:%Y-%m-%d} 00:00:00+00') TO ('{end:%Y-%m-%d} 00:00:00+00')"
    )
    return name


def _months(first: date, today: date, ahead: int) -> list[date]:
    month = date(first.year, first.month, 1)
    last = today.year * 12 + today.month - 1 + ahead
    out = []
    while month.year * 12 + month.month - 1 <= last:
        out.append(month)
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return out


# -- plumbing -------------------------------------------------------------------------------


def _check_journal(url: str) -> None:
    journal = PostgresJournal(url)  # a journal must be there: nothing is created here
    try:
        journal.check_schema()
    finally:
        journal.close()


def _meta(conn: psycopg.Connection[Any]) -> str | None:
    row = conn.execute("SELECT value FROM pc_meta WHERE key = %s", (_META_KEY,)).fetchone()
    return None if row is None else str(row[0])


def _where(url: str) -> str:
    return redact_url(url, message=True)


@contextmanager
def _ddl(url: str) -> Iterator[psycopg.Connection[Any]]:
    """One transaction under the journal's migration lock; driver errors as JournalError."""
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=10) as conn, conn.transaction():
            conn.execute(pglocks.LOCK, (pglocks.MIGRATION,))  # the schema's: no migrate meanwhile
            yield conn
    except psycopg.Error as exc:
        detail = scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        raise JournalError(f"partitioning journal {_where(url)}: {detail}") from exc
