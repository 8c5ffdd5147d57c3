"""The advisory locks of one PostgreSQL journal, keyed by the schema that holds its tables.

A province runs one journal per county in one database: a lock for the whole database would
make every county's commits queue behind each other's. Each lock is the two-int form
``pg_advisory_xact_lock(kind, schema)``, the schema's OID as the key (unique in the database,
kept by ``ALTER SCHEMA ... RENAME``). Schema version 5 made this change, so a process of an
older library (one lock per database) refuses the journal and the two never run at once.
"""

from __future__ import annotations

__all__ = ["EVENT_ORDER", "FEED", "LOCK", "MIGRATION", "SCHEMA_KEY"]

EVENT_ORDER = 0x7063_6576  # "pcev": event seq order equals commit order
MIGRATION = 0x7063_6D67  # "pcmg": one migration (or partitioning) at a time
FEED = 0x7063_6664  # "pcfd": one feed recorded at a time

#: The journal's schema as an int4: where its tables are on the search path, or, before they
#: exist, the schema a migration creates them in.
SCHEMA_KEY = (
    "COALESCE((SELECT c.relnamespace FROM pg_catalog.pg_class c "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relname = 'pc_payments' AND n.nspname = ANY (current_schemas(false)) "
    "ORDER BY array_position(current_schemas(false), n.nspname) LIMIT 1), "
    "(SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = current_schema()), 0)::int4"
)

#: Takes lock ``kind`` (a driver parameter) of the journal on the search path.
LOCK = f"SELECT pg_advisory_xact_lock(%s, {SCHEMA_KEY})"
