"""Versioned journal schema: one list of migrations, written once for both databases.

Type names differ between SQLite and PostgreSQL, so the DDL uses ``{ts}``, ``{bigint}`` and
``{serial_pk}`` placeholders that each dialect fills in; statements that only one database
needs (triggers) are tagged with it. ``SCHEMA_VERSION`` is the version this library writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "TYPES", "Migration", "render"]

Dialect = Literal["sqlite", "postgres"]


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: statements for both dialects plus dialect-only extras."""

    version: int
    description: str
    common: tuple[str, ...]
    sqlite: tuple[str, ...] = ()
    postgres: tuple[str, ...] = ()


TYPES: dict[Dialect, dict[str, str]] = {
    "sqlite": {"ts": "TEXT", "bigint": "INTEGER", "serial_pk": "INTEGER PRIMARY KEY AUTOINCREMENT"},
    "postgres": {"ts": "TIMESTAMPTZ", "bigint": "BIGINT", "serial_pk": "BIGSERIAL PRIMARY KEY"},
}

# Frozen literal: a change to the open statuses needs a new migration (a test checks this).
_OPEN = "('CREATED','DISPATCHED','NEEDS_ATTENTION','NOT_SENT','PENDING','UNKNOWN')"
# Open or paid: the attempts that count against an obligation (frozen like ``_OPEN``).
_LIVE = "('CREATED','DISPATCHED','NEEDS_ATTENTION','NOT_SENT','PENDING','SUCCEEDED','UNKNOWN')"

# A unique index must hold pc_payments.payer_id (pc_events: at): a partitioned journal
# (journal.partitioning) can enforce no other, and its migration would fail there.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        version=1,
        description="payments, append-only events, locks, channel state",
        common=(
            "CREATE TABLE pc_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            """CREATE TABLE pc_payments (
                id TEXT PRIMARY KEY,
                kind TEXT NOT NULL CHECK (kind IN ('payment', 'refund')),
                parent_id TEXT REFERENCES pc_payments (id),
                idempotency_key TEXT NOT NULL,
                fingerprint TEXT NOT NULL,
                channel TEXT NOT NULL,
                status TEXT NOT NULL,
                payer_id TEXT NOT NULL,
                reference TEXT NOT NULL,
                currency TEXT NOT NULL,
                amount_minor {bigint} NOT NULL CHECK (amount_minor > 0),
                taken_minor {bigint},
                channel_ref TEXT,
                reason TEXT,
                reason_detail TEXT,
                attention TEXT,
                request_json TEXT NOT NULL,
                channel_data TEXT NOT NULL DEFAULT '{{}}',
                attempt INTEGER NOT NULL DEFAULT 0,
                claimed_by TEXT,
                lease_until {ts},
                created_at {ts} NOT NULL,
                updated_at {ts} NOT NULL,
                version INTEGER NOT NULL DEFAULT 1,
                CONSTRAINT pc_payments_idempotency_key UNIQUE (idempotency_key)
            )""",
            "CREATE UNIQUE INDEX pc_payments_open_obligation ON pc_payments (payer_id, reference) "
            f"WHERE kind = 'payment' AND status IN {_OPEN}",
            "CREATE INDEX pc_payments_status ON pc_payments (status, channel)",
            "CREATE INDEX pc_payments_channel_ref ON pc_payments (channel, channel_ref)",
            "CREATE INDEX pc_payments_parent ON pc_payments (parent_id)",
            "CREATE INDEX pc_payments_payer ON pc_payments (payer_id, reference)",
            """CREATE TABLE pc_events (
                seq {serial_pk},
                payment_id TEXT NOT NULL REFERENCES pc_payments (id),
                at {ts} NOT NULL,
                type TEXT NOT NULL,
                from_status TEXT,
                to_status TEXT,
                data TEXT NOT NULL DEFAULT '{{}}'
            )""",
            "CREATE INDEX pc_events_payment ON pc_events (payment_id, seq)",
            """CREATE TABLE pc_locks (
                name TEXT PRIMARY KEY,
                owner TEXT NOT NULL,
                expires_at {ts} NOT NULL
            )""",
            """CREATE TABLE pc_channel_state (
                scope TEXT NOT NULL,
                key TEXT NOT NULL,
                value TEXT NOT NULL,
                version INTEGER NOT NULL,
                updated_at {ts} NOT NULL,
                PRIMARY KEY (scope, key)
            )""",
        ),
        sqlite=(
            "CREATE TRIGGER pc_events_no_update BEFORE UPDATE ON pc_events "
            "BEGIN SELECT RAISE(ABORT, 'pc_events is append-only'); END",
            "CREATE TRIGGER pc_events_no_delete BEFORE DELETE ON pc_events "
            "BEGIN SELECT RAISE(ABORT, 'pc_events is append-only'); END",
        ),
        postgres=(
            "CREATE FUNCTION pc_events_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'pc_events is append-only'; END $$",
            "CREATE TRIGGER pc_events_append_only BEFORE UPDATE OR DELETE ON pc_events "
            "FOR EACH ROW EXECUTE FUNCTION pc_events_append_only()",
        ),
    ),
    Migration(
        version=2,
        description="an obligation is paid once unless asked again; events record their columns",
        common=(
            # The n-th payment of an obligation the caller meant (``pay_again`` makes n+1).
            # Open or paid, one row per (payer, reference, occurrence): a second charge under
            # a fresh idempotency key meets the index, in every process.
            "ALTER TABLE pc_payments ADD COLUMN occurrence INTEGER NOT NULL DEFAULT 1",
            # Journals written before this rule may hold doubles: number them as they came.
            "UPDATE pc_payments SET occurrence = (SELECT COUNT(*) FROM pc_payments q "
            "WHERE q.kind = 'payment' AND q.payer_id = pc_payments.payer_id "
            f"AND q.reference = pc_payments.reference AND q.status IN {_LIVE} "
            f"AND q.id <= pc_payments.id) WHERE kind = 'payment' AND status IN {_LIVE}",
            "CREATE UNIQUE INDEX pc_payments_live_obligation "
            "ON pc_payments (payer_id, reference, occurrence) "
            f"WHERE kind = 'payment' AND status IN {_LIVE}",
            # The columns each event set (JSON), so verify can replay a row column by column;
            # NULL on events written before version 2.
            "ALTER TABLE pc_events ADD COLUMN columns_set TEXT",
        ),
    ),
    Migration(
        version=3,
        description="the departments' feeds: what each feed carried, once",
        common=(
            # One row per feed (an insurance type's day). ``checksum`` is NULL from the
            # moment its lines are recorded until its file has been written once.
            """CREATE TABLE pc_feeds (
                feed_id TEXT PRIMARY KEY,
                insurance TEXT NOT NULL,
                day TEXT NOT NULL,
                cutoff {ts} NOT NULL,
                made_at {ts} NOT NULL,
                lines INTEGER NOT NULL,
                total_minor {bigint} NOT NULL,
                currency TEXT NOT NULL,
                file_format TEXT,
                checksum TEXT,
                written_at {ts},
                CONSTRAINT pc_feeds_day UNIQUE (insurance, day)
            )""",
            # What a feed told the office, line by line. The primary key is the promise:
            # a payment's paid line, its reversal and each refund appear in one feed only.
            """CREATE TABLE pc_feed_lines (
                record_id TEXT NOT NULL REFERENCES pc_payments (id),
                line TEXT NOT NULL CHECK (line IN ('paid', 'reversal', 'refund')),
                feed_id TEXT NOT NULL REFERENCES pc_feeds (feed_id),
                n INTEGER NOT NULL,
                payment_id TEXT NOT NULL,
                at {ts} NOT NULL,
                payer_id TEXT NOT NULL,
                period TEXT NOT NULL,
                grade TEXT NOT NULL,
                amount_minor {bigint} NOT NULL,
                currency TEXT NOT NULL,
                channel TEXT NOT NULL,
                settlement_ref TEXT,
                corrects TEXT,
                PRIMARY KEY (record_id, line)
            )""",
            "CREATE UNIQUE INDEX pc_feed_lines_order ON pc_feed_lines (feed_id, n)",
        ),
        sqlite=(
            "CREATE TRIGGER pc_feed_lines_no_update BEFORE UPDATE ON pc_feed_lines "
            "BEGIN SELECT RAISE(ABORT, 'pc_feed_lines is append-only'); END",
            "CREATE TRIGGER pc_feed_lines_no_delete BEFORE DELETE ON pc_feed_lines "
            "BEGIN SELECT RAISE(ABORT, 'pc_feed_lines is append-only'); END",
            "CREATE TRIGGER pc_feeds_no_delete BEFORE DELETE ON pc_feeds "
            "BEGIN SELECT RAISE(ABORT, 'pc_feeds is append-only'); END",
            "CREATE TRIGGER pc_feeds_written_once BEFORE UPDATE ON pc_feeds "
            "WHEN OLD.checksum IS NOT NULL OR NEW.feed_id <> OLD.feed_id "
            "OR NEW.lines <> OLD.lines OR NEW.total_minor <> OLD.total_minor "
            "OR NEW.cutoff <> OLD.cutoff "
            "BEGIN SELECT RAISE(ABORT, 'a written feed is never changed'); END",
        ),
        postgres=(
            "CREATE FUNCTION pc_feed_lines_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'pc_feed_lines is append-only'; END $$",
            "CREATE TRIGGER pc_feed_lines_append_only BEFORE UPDATE OR DELETE ON pc_feed_lines "
            "FOR EACH ROW EXECUTE FUNCTION pc_feed_lines_append_only()",
            "CREATE FUNCTION pc_feeds_written_once() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN IF TG_OP = 'DELETE' OR OLD.checksum IS NOT NULL "
            "OR NEW.feed_id <> OLD.feed_id OR NEW.lines <> OLD.lines "
            "OR NEW.total_minor <> OLD.total_minor OR NEW.cutoff <> OLD.cutoff THEN "
            "RAISE EXCEPTION 'a written feed is never changed'; END IF; RETURN NEW; END $$",
            "CREATE TRIGGER pc_feeds_written_once BEFORE UPDATE OR DELETE ON pc_feeds "
            "FOR EACH ROW EXECUTE FUNCTION pc_feeds_written_once()",
        ),
    ),
    Migration(
        version=4,
        description="claimed records found without a scan (a void of a SUCCEEDED payment)",
        common=(
            # recover() looks for SUCCEEDED payments with a void's claim each pass; the
            # claimed rows are few, the SUCCEEDED ones may be hundreds of thousands
            "CREATE INDEX pc_payments_claimed ON pc_payments (status, channel) "
            "WHERE claimed_by IS NOT NULL",
        ),
    ),
    Migration(
        version=5,
        description="PostgreSQL's advisory locks keyed by the journal's schema (journal.pglocks)",
        # A process of version 4 or older takes one lock for the whole database: beside one of
        # this version, event seq order would no longer be commit order. The version is the
        # fence (each refuses the other's journal); the row says which locks are in use.
        common=("INSERT INTO pc_meta (key, value) VALUES ('advisory_locks', 'schema')",),
    ),
)

SCHEMA_VERSION = MIGRATIONS[-1].version


def render(migration: Migration, dialect: Dialect) -> list[str]:
    """The statements of one migration for one database."""
    types = TYPES[dialect]
    extra = migration.sqlite if dialect == "sqlite" else migration.postgres
    return [stmt.format(**types) for stmt in migration.common] + list(extra)
