"""The SQL journal's foundation: what a backend provides, the schema, rows to records.

``SqlBase`` declares the hooks a backend (SQLite, PostgreSQL) implements — connections,
transactions, timestamps, the few statements that differ — and holds what reads and writes
share: schema migration and turning rows into records and events.

Connections are one per thread and have a life of their own: a connection is closed only by
a path that knows no thread is using it. ``close()`` closes the idle ones and marks the
journal closed (new transactions get ``JournalClosed``); one in a transaction is closed by
its own thread when the transaction ends. A forked child never touches its parent's
connections (``paychannels.runtime.forks``): it opens its own.
"""

from __future__ import annotations

import json
import logging
import threading
from abc import abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from paychannels.journal.base import (
    Journal,
    StateWrite,
)
from paychannels.journal.durability import OutcomeSync
from paychannels.journal.plan import dumps
from paychannels.journal.schema import MIGRATIONS, SCHEMA_VERSION, TYPES, Dialect, render
from paychannels.runtime import forks
from paychannels.values.errors import (
    JournalClosed,
    JournalUnavailable,
    SchemaOutdated,
    SchemaTooNew,
)
from paychannels.values.models import Event, EventType, Payment, Record, Refund, trusted
from paychannels.values.money import Money
from paychannels.values.reasons import Reason
from paychannels.values.status import Status

__all__ = ["Row", "SqlBase", "Tx"]

Row = Mapping[str, Any]
_TABLES = (
    "pc_meta",
    "pc_payments",
    "pc_events",
    "pc_locks",
    "pc_channel_state",
    "pc_feeds",
    "pc_feed_lines",
)

log = logging.getLogger("paychannels.journal")


@dataclass(eq=False)
class _Slot:
    """A thread's connection and how many of its transactions are open on it."""

    conn: Any
    busy: int = 0


def _json(text: str) -> Any:
    return {} if text == "{}" else json.loads(text)


class Tx(Protocol):
    """A transaction as the shared code sees it."""

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """All rows of a query."""
        ...

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """The first row of a query, or None."""
        ...

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Execute a statement; the number of rows it changed."""
        ...

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        """Execute a statement once per parameter row; the total of rows changed."""
        ...

    def send(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Execute a statement whose answer nobody reads (pipelined: no round trip of its
        own); an error it meets is raised by the next statement that is read, or at commit."""
        ...

    def rows_after(self, sql: str, params: Sequence[Any] = ()) -> Callable[[], list[Row]]:
        """A query whose rows are read once the transaction ended (pipelined: they come back
        with the commit, in its round trip); reading them earlier is an error."""
        ...

    def rows_each(self, queries: Sequence[tuple[str, Sequence[Any]]]) -> list[list[Row]]:
        """The rows of several queries, run in order (pipelined: one round trip for all)."""
        ...


class SqlBase(Journal):
    """What the SQL journal's reads and writes stand on; see the module docstring."""

    dialect: Dialect
    for_update: str = ""

    #: when a synchronous answer's commit is flushed (set by each backend's ``__init__``)
    outcome_sync: OutcomeSync
    _local: threading.local
    _slots: list[_Slot]
    _slots_lock: threading.Lock
    _closed: bool

    # -- connections: one per thread, closed only when nobody uses them ----------------------

    def _connections_init(self) -> None:
        self._local = threading.local()
        self._slots = []
        self._slots_lock = threading.Lock()
        self._closed = False
        forks.renew_after_fork(self)

    @abstractmethod
    def _connect(self) -> Any:
        """A new connection (``JournalUnavailable`` when the database cannot be reached)."""

    def _usable(self, conn: Any) -> bool:
        """Whether a thread's connection can still be used (PostgreSQL: not broken)."""
        return True

    def _keep(self, conn: Any) -> None:
        """Hold a connection no thread uses (SQLite's in-memory keeper) until ``close``."""
        with self._slots_lock:
            self._slots.append(_Slot(conn))

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        """This thread's connection, marked in use for the block (``JournalClosed`` once
        the journal is closed)."""
        slot: _Slot | None = getattr(self._local, "slot", None)
        stale = None
        with self._slots_lock:
            if self._closed:
                raise JournalClosed(f"journal {self.url} is closed")
            if slot is not None and slot.busy == 0 and not self._usable(slot.conn):
                self._slots.remove(slot)
                stale, slot = slot, None
            if slot is not None:
                slot.busy += 1
        if stale is not None:
            self._close_quietly(stale.conn)
        if slot is None:
            slot = _Slot(self._connect(), busy=1)
            with self._slots_lock:
                refused = self.closed  # (closed while we connected)
                if not refused:
                    self._slots.append(slot)
            if refused:
                self._close_quietly(slot.conn)
                raise JournalClosed(f"journal {self.url} is closed")
            self._local.slot = slot
        try:
            yield slot.conn
        finally:
            with self._slots_lock:
                slot.busy -= 1
                last = self.closed and slot.busy == 0 and slot in self._slots
                if last:
                    self._slots.remove(slot)
            if last:  # the journal was closed meanwhile: ours to close, nobody else's
                self._close_quietly(slot.conn)

    def _close_quietly(self, conn: Any) -> None:
        try:
            conn.close()
        except Exception as exc:  # closing is best effort; the database keeps its state
            log.warning("closing a connection to %s failed: %s", self.url, exc)

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._closed

    def close(self) -> None:
        if not self._closed:
            try:  # a lazy answer is flushed before the journal closes
                self.outcome_sync.close()
            except Exception as exc:  # committed all the same: the OS or the server has it
                log.warning("flushing %s before closing failed: %s", self.url, exc)
        with self._slots_lock:
            self._closed = True
        self._drop_connections()

    def _drop_connections(self) -> None:
        """Close the idle connections; a busy one is closed by its thread when it is done
        (after ``close``) or kept (while the journal stays open)."""
        with self._slots_lock:
            idle = [s for s in self._slots if s.busy == 0]
            self._slots = [s for s in self._slots if s.busy]
            if not self._closed:  # a thread must not find its dropped connection again
                self._local = threading.local()
        for slot in idle:
            self._close_quietly(slot.conn)

    def after_fork(self) -> None:
        """In a forked child: the parent's connections are never used nor closed here."""
        forks.abandon([slot.conn for slot in self._slots])
        self.outcome_sync.after_fork()
        self._slots = []
        self._slots_lock = threading.Lock()
        self._local = threading.local()

    def _put_state(self, tx: Tx, write: StateWrite, now: datetime) -> bool:
        """A channel-state compare-and-set inside ``tx``; False if the version moved."""
        return tx.run(*self._state_sql(write, now)) == 1

    def _put_state_after(self, tx: Tx, write: StateWrite, now: datetime) -> Callable[[], bool]:
        """``_put_state`` whose answer is read once the transaction ended: on PostgreSQL it
        goes out with the commit instead of waiting for its own round trip — under the
        event-order lock when events were appended before it (SQLite answers at once)."""
        if self.dialect != "postgres":
            written = self._put_state(tx, write, now)
            return lambda: written
        sql, params = self._state_sql(write, now)
        rows = tx.rows_after(f"{sql} RETURNING 1", params)
        return lambda: len(rows()) == 1

    def _state_sql(self, write: StateWrite, now: datetime) -> tuple[str, tuple[Any, ...]]:
        """The compare-and-set's statement: an insert for a first version, else an update."""
        text = dumps(write.value)
        if write.expected_version == 0:
            return (
                "INSERT INTO pc_channel_state (scope, key, value, version, updated_at) "
                "VALUES (?, ?, ?, 1, ?) ON CONFLICT (scope, key) DO NOTHING",
                (write.scope, write.key, text, self._ts_in(now)),
            )
        return (
            "UPDATE pc_channel_state SET value = ?, version = version + 1, "
            "updated_at = ? WHERE scope = ? AND key = ? AND version = ?",
            (text, self._ts_in(now), write.scope, write.key, write.expected_version),
        )

    # -- what a backend provides ------------------------------------------------------------

    def _read_one(self, sql: str, params: Sequence[Any]) -> Row | None:
        """One row of a single SELECT; a backend may run it without BEGIN/COMMIT, since one
        statement is its own consistent snapshot."""
        with self._transaction(write=False) as tx:
            return tx.one(sql, params)

    @abstractmethod
    def _transaction(self, *, write: bool, pipeline: bool = False) -> AbstractContextManager[Tx]:
        """A transaction; write transactions serialise against other writers of the row.

        ``pipeline``: statements a caller does not read go out with the next one it does
        (PostgreSQL's pipeline mode; no COPY inside), BEGIN with the first and COMMIT with
        the last; the same statements, the same commit, fewer round trips."""

    @abstractmethod
    def _ts_in(self, value: datetime) -> Any:
        """A datetime as the database stores it."""

    @abstractmethod
    def _ts_out(self, value: Any) -> datetime:
        """A stored timestamp back as an aware UTC datetime."""

    @abstractmethod
    def _table_exists(self, tx: Tx, name: str) -> bool:
        """Whether a table exists (for the empty-database case)."""

    @abstractmethod
    def _stream(
        self, sql: str, params: Sequence[Any], page: int
    ) -> Iterator[list[tuple[Any, ...]]]:
        """Rows of one query as plain tuples, ``page`` at a time, from one read snapshot."""

    @abstractmethod
    def _json_text(self, column: str, key: str) -> str:
        """SQL for the text value of a key of a JSON text column (``a.b``: key b of a)."""

    @abstractmethod
    def _json_object(self, pairs: str) -> str:
        """SQL for a JSON object's text built from ``'key', value, ...`` pairs."""

    def _read_snapshot(self, tx: Tx) -> None:
        """Make a read transaction one snapshot (SQLite's deferred BEGIN already is)."""

    def _before_events(self, tx: Tx) -> None:
        """Called before appending events, to make ``seq`` order equal commit order."""

    def _before_migrate(self, tx: Tx) -> None:
        """Called at the start of a migration transaction (PostgreSQL takes a lock)."""

    @abstractmethod
    def _is_obligation_violation(self, exc: BaseException) -> bool:
        """Whether an exception is an obligation's unique index (open or live) refusing an
        insert."""

    def _types(self) -> dict[str, str]:
        """The dialect's type names for DDL placeholders (``{bigint}``...)."""
        return TYPES[self.dialect]

    def _stage_insert(
        self, tx: Tx, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Insert rows into a staging table (PostgreSQL overrides this with COPY)."""
        marks = ", ".join("?" for _ in columns)
        tx.many(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def _spill(self) -> dict[str, str]:
        """Where a stage that holds a whole report (not a bounded chunk) lives: DDL
        placeholders ``{temp}`` and ``{spill}``; a TEMP table unless the dialect says."""
        return {"temp": "TEMP", "spill": ""}

    def _unspill(self, tables: Sequence[str]) -> None:
        """Drop the stages ``_spill`` placed."""
        with self._transaction(write=False) as tx:
            for table in tables:
                tx.run(f"DROP TABLE IF EXISTS {table}")

    def _after_stage(self, tx: Tx, table: str) -> None:
        """Called once a staging table is full (PostgreSQL gathers statistics)."""

    # -- schema -------------------------------------------------------------------------

    def _is_journal(self, tx: Tx) -> bool:
        """Whether the database holds a journal (False: none of its tables at all).

        Some of the tables without a schema version is someone else's data or a journal
        damaged beyond use: refused, never migrated over.
        """
        if self._table_exists(tx, "pc_meta"):
            row = tx.one("SELECT value FROM pc_meta WHERE key = 'schema_version'")
            if row is not None and self._table_exists(tx, "pc_payments"):
                return True
        ours = [t for t in _TABLES if self._table_exists(tx, t)]
        if ours:
            raise JournalUnavailable(
                f"{self.url} is not a journal: it has table(s) {', '.join(ours)} but no "
                "journal schema version; nothing was changed"
            )
        return False

    def _no_journal(self, why: str) -> JournalUnavailable:
        return JournalUnavailable(
            f"no journal at {self.url} ({why}); to start a new one, run 'paychannels journal "
            "migrate --db URL' or open it with create=True"
        )

    def _read_version(self, tx: Tx) -> int:
        if not self._table_exists(tx, "pc_meta"):
            return 0
        row = tx.one("SELECT value FROM pc_meta WHERE key = 'schema_version'")
        return int(row["value"]) if row else 0

    def schema_version(self) -> int:
        with self._transaction(write=False) as tx:
            return self._read_version(tx)

    def migrate(self) -> tuple[int, int]:
        with self._transaction(write=True) as tx:
            self._before_migrate(tx)
            start = self._read_version(tx)
            self._refuse_newer(start)
            for migration in MIGRATIONS:
                if migration.version <= start:
                    continue
                for stmt in render(migration, self.dialect):
                    tx.run(stmt)
                tx.run("DELETE FROM pc_meta WHERE key = 'schema_version'")
                tx.run(
                    "INSERT INTO pc_meta (key, value) VALUES ('schema_version', ?)",
                    (str(migration.version),),
                )
            return start, SCHEMA_VERSION

    def _refuse_newer(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"journal {self.url} is at schema version {version}, written by a newer "
                f"paychannels; this version understands up to {SCHEMA_VERSION}. Upgrade "
                "paychannels; nothing was changed."
            )

    def check_schema(self) -> None:
        version = self.schema_version()
        self._refuse_newer(version)
        if version < SCHEMA_VERSION:
            raise SchemaOutdated(
                f"journal {self.url} is at schema version {version}, this library needs "
                f"{SCHEMA_VERSION}: run 'paychannels journal migrate --db URL'"
            )

    # -- rows <-> records -------------------------------------------------------------------

    def _record(self, row: Row) -> Record:
        cur = row["currency"]
        extra = _json(row["request_json"])  # the REQUEST_FIELDS of plan.py
        taken = row["taken_minor"]
        reason = row["reason"]
        fields: dict[str, Any] = {
            "id": row["id"],
            "kind": row["kind"],
            "status": Status(row["status"]),
            "channel": row["channel"],
            "payer_id": row["payer_id"],
            "reference": row["reference"],
            "amount": Money.of_minor(int(row["amount_minor"]), cur),
            "idempotency_key": row["idempotency_key"],
            "amount_taken": None if taken is None else Money.of_minor(int(taken), cur),
            "channel_ref": row["channel_ref"],
            "reason": Reason(reason) if reason else None,
            "reason_detail": row["reason_detail"],
            "attention": row["attention"],
            "channel_data": _json(row["channel_data"]),
            "parent_id": row["parent_id"],
            "occurrence": int(row["occurrence"]),
            "attempt": int(row["attempt"]),
            "claimed_by": row["claimed_by"],
            "lease_until": None if row["lease_until"] is None else self._ts_out(row["lease_until"]),
            "created_at": self._ts_out(row["created_at"]),
            "updated_at": self._ts_out(row["updated_at"]),
            "version": int(row["version"]),
            "payer_name": extra.get("payer_name"),
            "region": extra.get("region"),
            "operator": extra.get("operator"),
            "period": extra.get("period"),
            "description": extra.get("description"),
            "metadata": extra.get("metadata") or {},
            "pay_again": bool(extra.get("pay_again", False)),
        }
        cls = Payment if row["kind"] == "payment" else Refund
        return trusted(cls, fields)

    def _event(self, row: Row) -> Event:
        return trusted(
            Event,
            {
                "seq": int(row["seq"]),
                "payment_id": row["payment_id"],
                "channel": row["channel"],
                "at": self._ts_out(row["at"]),
                "type": EventType(row["type"]),
                "from_status": Status(row["from_status"]) if row["from_status"] else None,
                "to_status": Status(row["to_status"]) if row["to_status"] else None,
                "data": json.loads(row["data"]),
            },
        )
