"""PostgreSQL's events insert with its event-order lock (and the lazy commit's switch) inside.

Event ``seq`` order must equal commit order, so the advisory lock is taken before any
``seq`` is drawn (``journal.pglocks``). Sent as a statement of its own it costs the client a
driver's worth of CPU per transaction; here it is a materialized CTE that the insert's rows
are joined to, so the server takes the lock before it builds the first row (whose ``seq``
default is computed from the joined row) and holds it to the commit. The lazy commit's
``synchronous_commit`` switch is read at commit time, so it may ride in the same CTE.
"""

from __future__ import annotations

__all__ = ["LAZY", "locked_insert"]

#: this transaction's commit does not wait for the WAL flush (``journal.durability``)
LAZY = "set_config('synchronous_commit', 'off', true)"
_LOCK = "pg_advisory_xact_lock(?, ?)"  # (kind, schema key): the two first parameters


def locked_insert(sql: str, *, lazy: bool) -> str:
    """``INSERT INTO t (cols) VALUES (...), ... RETURNING r`` as one statement that first
    takes the event-order lock (its two parameters before the statement's own)."""
    head, values = sql.split(" VALUES ", 1)
    rows, returning = values.rsplit(" RETURNING ", 1)
    taken = f"{_LOCK}, {LAZY}" if lazy else _LOCK
    # VALUES keeps its row order through the join with the one-row CTE: seq follows it
    return (
        f"WITH pc_event_order AS MATERIALIZED (SELECT {taken}) "
        f"{head} SELECT v.* FROM pc_event_order, (VALUES {rows}) AS v "
        f"RETURNING {returning}"
    )
