"""The journal in SQL, shared by the SQLite and PostgreSQL backends.

Backends supply connections, transactions, timestamp conversion and the few statements that
differ (row locks, event ordering); everything else — the guard, idempotency, the obligation
rule, events — is written once here. All SQL uses ``?`` placeholders; the PostgreSQL backend
rewrites them.
"""

from __future__ import annotations

import json
import threading
from abc import abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, Protocol

from pydantic import JsonValue

from paychannels.crashpoints import crashpoint
from paychannels.errors import (
    AlreadyInDoubt,
    IdempotencyConflict,
    IllegalTransition,
    InvalidRequest,
    JournalError,
    PaychannelsError,
    PaymentNotFound,
    SchemaOutdated,
    SchemaTooNew,
)
from paychannels.journal import bulk
from paychannels.journal.base import (
    Applied,
    BulkApplied,
    Change,
    Decide,
    Journal,
    LedgerRow,
    NewRecord,
    StateEntry,
)
from paychannels.journal.plan import TIMESTAMP_COLUMNS, Plan, dumps, plan, plan_new
from paychannels.journal.schema import MIGRATIONS, SCHEMA_VERSION, TYPES, Dialect, render
from paychannels.models import Event, EventType, Payment, Record, Refund, trusted
from paychannels.money import Money
from paychannels.reasons import Reason
from paychannels.reports import ResultRow
from paychannels.status import OPEN_STATUSES, Status

__all__ = ["Row", "SqlJournal", "Tx"]

Row = Mapping[str, Any]

_OPEN_SQL = "(" + ",".join(f"'{s.value}'" for s in sorted(OPEN_STATUSES)) + ")"
_CHUNK = 2000  # records per transaction in the bulk paths
_IN_LIMIT = 500  # values per IN (...) list
_FEW = 8  # up to this many events are appended one by one


def _one(tx: Tx, sql: str, params: Sequence[Any]) -> Row:
    row = tx.one(sql, params)
    assert row is not None
    return row


def _json(text: str) -> Any:
    return {} if text == "{}" else json.loads(text)


class _Raced(Exception):
    """An insert met a key another process committed after our check: retry one by one."""


def _in_doubt(new: NewRecord, blocking_id: str, status: Status) -> AlreadyInDoubt:
    return AlreadyInDoubt(
        f"payer {new.request.payer_id!r} already has attempt {blocking_id} for "
        f"{new.request.reference!r} in status {status}; resolve it (status, recover or "
        "cancel) before a second attempt",
        blocking_id,
    )


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


class SqlJournal(Journal):
    """Journal logic over any SQL backend that provides ``Tx`` transactions."""

    dialect: Dialect
    for_update: str = ""
    _local: threading.local
    _connections: list[Any]
    _connections_lock: threading.Lock

    # -- connections: one per thread, all closed together ----------------------------------

    def _connections_init(self) -> None:
        self._local = threading.local()
        self._connections = []
        self._connections_lock = threading.Lock()

    def _remember(self, conn: Any) -> None:
        with self._connections_lock:
            self._connections.append(conn)

    def close(self) -> None:
        with self._connections_lock:
            conns, self._connections = self._connections, []
        for conn in conns:
            conn.close()
        self._local = threading.local()

    # -- what a backend provides ------------------------------------------------------------

    @abstractmethod
    def _transaction(self, *, write: bool) -> AbstractContextManager[Tx]:
        """A transaction; write transactions serialise against other writers of the row."""

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
        """SQL for the text value of a top-level key of a JSON text column."""

    def _before_events(self, tx: Tx) -> None:
        """Called before appending events, to make ``seq`` order equal commit order."""

    def _before_migrate(self, tx: Tx) -> None:
        """Called at the start of a migration transaction (PostgreSQL takes a lock)."""

    @abstractmethod
    def _is_obligation_violation(self, exc: BaseException) -> bool:
        """Whether an exception is the open-obligation unique index refusing an insert."""

    def _types(self) -> dict[str, str]:
        """The dialect's type names for DDL placeholders (``{bigint}``...)."""
        return TYPES[self.dialect]

    def _stage_insert(
        self, tx: Tx, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Insert rows into a staging table (PostgreSQL overrides this with COPY)."""
        marks = ", ".join("?" for _ in columns)
        tx.many(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def _after_stage(self, tx: Tx, table: str) -> None:
        """Called once a staging table is full (PostgreSQL gathers statistics)."""

    # -- schema -------------------------------------------------------------------------

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
        }
        cls = Payment if row["kind"] == "payment" else Refund
        return trusted(cls, fields)

    def _event(self, row: Row) -> Event:
        return trusted(
            Event,
            {
                "seq": int(row["seq"]),
                "payment_id": row["payment_id"],
                "at": self._ts_out(row["at"]),
                "type": EventType(row["type"]),
                "from_status": Status(row["from_status"]) if row["from_status"] else None,
                "to_status": Status(row["to_status"]) if row["to_status"] else None,
                "data": json.loads(row["data"]),
            },
        )

    # -- writes ---------------------------------------------------------------------------

    def create(self, new: NewRecord, *, now: datetime, then: Sequence[Change] = ()) -> Applied:
        result = self.create_many([new], now=now, then=then)[0]
        if isinstance(result, PaychannelsError):
            raise result
        return result

    def create_many(
        self, news: Sequence[NewRecord], *, now: datetime, then: Sequence[Change] = ()
    ) -> list[Applied | PaychannelsError]:
        results: list[Applied | PaychannelsError] = []
        for start in range(0, len(news), _CHUNK):
            chunk = news[start : start + _CHUNK]
            try:
                with self._transaction(write=True) as tx:
                    results.extend(self._create_chunk(tx, chunk, now, then))
            except _Raced:
                # another process inserted one of these keys meanwhile: settle one by one
                for new in chunk:
                    with self._transaction(write=True) as tx:
                        results.extend(self._create_chunk(tx, [new], now, then))
            except Exception as exc:
                if not self._is_obligation_violation(exc):
                    raise
                for new in chunk:  # an obligation raced: the retry names the blocking attempt
                    with self._transaction(write=True) as tx:
                        results.extend(self._create_chunk(tx, [new], now, then))
        return results

    def _create_chunk(
        self, tx: Tx, news: Sequence[NewRecord], now: datetime, then: Sequence[Change]
    ) -> list[Applied | PaychannelsError]:
        keys = [n.request.idempotency_key for n in news]
        existing = {r["idempotency_key"]: r for r in self._select_in(tx, "idempotency_key", keys)}
        open_attempts = self._open_attempts(tx, [n for n in news if n.kind == "payment"])
        out: list[Applied | PaychannelsError | None] = []
        plans: list[Plan] = []
        in_batch: set[str] = set()
        for new in news:
            req = new.request
            found = existing.get(req.idempotency_key)
            try:
                if req.idempotency_key in in_batch:
                    raise IdempotencyConflict(
                        f"idempotency key {req.idempotency_key!r} appears twice in one batch"
                    )
                if found is not None:
                    out.append(self._existing(found, new))
                    continue
                if new.kind == "payment":
                    blocking = open_attempts.get((req.payer_id, req.reference))
                    if blocking is not None:
                        raise _in_doubt(new, *blocking)
                else:
                    self._refuse_over_refund(tx, new)
                new_plan = plan_new(new, now, then)
            except (IdempotencyConflict, AlreadyInDoubt, IllegalTransition, InvalidRequest) as exc:
                out.append(exc)
                continue
            except PaymentNotFound as exc:
                out.append(exc)
                continue
            if new.kind == "payment":
                open_attempts[(req.payer_id, req.reference)] = (new.id, new_plan.record.status)
            in_batch.add(req.idempotency_key)
            plans.append(new_plan)
            out.append(None)
        applied = iter(self._write_plans(tx, plans, insert=True))
        return [next(applied) if item is None else item for item in out]

    def _select_in(self, tx: Tx, column: str, values: Sequence[Any]) -> list[Row]:
        rows: list[Row] = []
        for start in range(0, len(values), _IN_LIMIT):
            part = values[start : start + _IN_LIMIT]
            marks = ", ".join("?" for _ in part)
            rows.extend(
                tx.rows(f"SELECT * FROM pc_payments WHERE {column} IN ({marks})", list(part))
            )
        return rows

    def _open_attempts(
        self, tx: Tx, news: Sequence[NewRecord]
    ) -> dict[tuple[str, str], tuple[str, Status]]:
        payers = sorted({n.request.payer_id for n in news})
        found: dict[tuple[str, str], tuple[str, Status]] = {}
        for start in range(0, len(payers), _IN_LIMIT):
            part = payers[start : start + _IN_LIMIT]
            marks = ", ".join("?" for _ in part)
            for row in tx.rows(
                "SELECT id, status, payer_id, reference FROM pc_payments WHERE kind = 'payment' "
                f"AND status IN {_OPEN_SQL} AND payer_id IN ({marks})",
                part,
            ):
                found[(row["payer_id"], row["reference"])] = (row["id"], Status(row["status"]))
        return found

    def _existing(self, row: Row, new: NewRecord) -> Applied:
        if row["fingerprint"] != new.fingerprint:
            raise IdempotencyConflict(
                f"idempotency key {new.request.idempotency_key!r} was already used for "
                f"{row['id']} with a different request (amount, payer, reference or "
                "channel differ); use a new key for a new request"
            )
        return Applied(self._record(row), (), created=False)

    def _refuse_open_obligation(self, tx: Tx, new: NewRecord) -> None:
        blocking = self._open_attempts(tx, [new]).get((new.request.payer_id, new.request.reference))
        if blocking is not None:
            raise _in_doubt(new, *blocking)

    def _refuse_over_refund(self, tx: Tx, new: NewRecord) -> None:
        parent = tx.one(
            f"SELECT * FROM pc_payments WHERE id = ?{self.for_update}", (new.parent_id,)
        )
        if parent is None or parent["kind"] != "payment":
            raise PaymentNotFound(f"refund of {new.parent_id!r}: no such payment")
        if parent["status"] != Status.SUCCEEDED.value:
            raise IllegalTransition(
                f"refund of {new.parent_id}: the payment is {parent['status']}, not SUCCEEDED"
            )
        row = tx.one(
            "SELECT COALESCE(SUM(amount_minor), 0) AS total FROM pc_payments "
            "WHERE parent_id = ? AND status NOT IN ('DECLINED', 'CANCELLED', 'EXPIRED')",
            (new.parent_id,),
        )
        refunded = int(row["total"]) if row else 0
        taken = (
            parent["taken_minor"] if parent["taken_minor"] is not None else parent["amount_minor"]
        )
        if refunded + new.request.amount.minor > int(taken):
            raise InvalidRequest(
                f"refund of {new.request.amount.to_decimal_string()} for {new.parent_id} would "
                f"exceed what was taken ({int(taken)} minor units, {refunded} already refunded "
                "or in progress)"
            )

    def modify(self, record_id: str, decide: Decide, *, now: datetime) -> Applied:
        result = self.modify_many([(record_id, decide)], now=now)[0]
        if isinstance(result, PaychannelsError):
            if isinstance(result, PaymentNotFound):
                raise PaymentNotFound(f"no payment or refund {record_id!r} in {self.url}")
            raise result
        return result

    def modify_many(
        self, items: Sequence[tuple[str, Decide]], *, now: datetime
    ) -> list[Applied | PaychannelsError]:
        results: list[Applied | PaychannelsError | None] = [None] * len(items)
        # rows are locked in id order, so two bulk writers never deadlock on PostgreSQL
        order = sorted(range(len(items)), key=lambda i: items[i][0])
        for start in range(0, len(order), _CHUNK):
            chunk = order[start : start + _CHUNK]
            with self._transaction(write=True) as tx:
                ids = sorted({items[i][0] for i in chunk})
                current: dict[str, Record] = {}
                for part in range(0, len(ids), _IN_LIMIT):
                    some = ids[part : part + _IN_LIMIT]
                    marks = ", ".join("?" for _ in some)
                    for row in tx.rows(
                        f"SELECT * FROM pc_payments WHERE id IN ({marks}) ORDER BY id"
                        f"{self.for_update}",
                        some,
                    ):
                        current[row["id"]] = self._record(row)
                plans: dict[str, Plan] = {}
                owners: dict[int, str] = {}
                for i in chunk:
                    record_id, decide = items[i]
                    record = current.get(record_id)
                    if record is None:
                        results[i] = PaymentNotFound(f"no payment or refund {record_id!r}")
                        continue
                    try:
                        step = plan(record, list(decide(record)), now)
                    except (IllegalTransition, InvalidRequest) as exc:
                        results[i] = exc
                        continue
                    current[record_id] = step.record  # a later item for it sees this
                    if record_id in plans:
                        plans[record_id].merge(step)
                    else:
                        plans[record_id] = step
                    owners[i] = record_id
                applied = dict(
                    zip(
                        plans,
                        self._write_plans(tx, list(plans.values()), insert=False),
                        strict=True,
                    )
                )
                for i, record_id in owners.items():
                    results[i] = applied[record_id]
        return [r if r is not None else PaymentNotFound("unreachable") for r in results]

    def apply_results(
        self, rows: Iterable[ResultRow], *, channel: str, via: str, now: datetime
    ) -> Iterator[BulkApplied]:
        return bulk.apply_results(self, rows, channel=channel, via=via, now=now)

    def append(self, record_id: str, change: Change, *, now: datetime) -> Applied:
        if change.to_status is not None:
            raise ValueError("append() takes annotations only; use modify() for changes")
        with self._transaction(write=True) as tx:
            # The row lock first, as in modify(): the event's foreign key needs the row, so
            # taking the event-order lock before it deadlocks against a concurrent modify().
            row = tx.one(f"SELECT * FROM pc_payments WHERE id = ?{self.for_update}", (record_id,))
            if row is None:
                raise PaymentNotFound(f"no payment or refund {record_id!r} in {self.url}")
            step = plan(self._record(row), [change], now)
            if step.columns:
                raise ValueError("append() takes annotations only; use modify() for changes")
            return self._write_plans(tx, [step], insert=False)[0]

    def _db(self, column: str, value: Any) -> Any:
        if value is None:
            return None
        if column in TIMESTAMP_COLUMNS:
            return self._ts_in(value)
        if isinstance(value, StrEnum):
            return value.value
        if column in ("channel_data", "request_json"):
            return dumps(value)
        return value

    def _write_plans(self, tx: Tx, plans: Sequence[Plan], *, insert: bool) -> list[Applied]:
        """Execute plans in bulk: rows inserted or updated, then their events appended."""
        if insert and plans:
            names = list(plans[0].columns)
            marks = ", ".join("?" for _ in names)
            inserted = tx.many(
                f"INSERT INTO pc_payments ({', '.join(names)}) VALUES ({marks}) "
                "ON CONFLICT (idempotency_key) DO NOTHING",
                [[self._db(c, p.columns[c]) for c in names] for p in plans],
            )
            if inserted != len(plans):
                raise _Raced()
        elif not insert:
            groups: dict[tuple[str, ...], list[Plan]] = {}
            for p in plans:
                if p.columns:
                    groups.setdefault(tuple(p.columns), []).append(p)
            for columns, members in groups.items():
                assignments = ", ".join(f"{c} = ?" for c in columns)
                tx.many(
                    f"UPDATE pc_payments SET {assignments}, version = version + 1 WHERE id = ?",
                    [[*(self._db(c, p.columns[c]) for c in columns), p.record.id] for p in members],
                )
        events = self._append_events(tx, plans)
        crashpoint("journal.before_commit")
        return [Applied(p.record, e, created=insert) for p, e in zip(plans, events, strict=True)]

    def _append_events(self, tx: Tx, plans: Sequence[Plan]) -> list[tuple[Event, ...]]:
        specs = [(p.record.id, p.at, spec) for p in plans for spec in p.events]
        if not specs:
            return [() for _ in plans]
        self._before_events(tx)
        rows = [
            (
                rid,
                self._ts_in(at),
                spec.type.value,
                spec.from_status.value if spec.from_status else None,
                spec.to_status.value if spec.to_status else None,
                dumps(spec.data),
            )
            for rid, at, spec in specs
        ]
        insert = (
            "INSERT INTO pc_events (payment_id, at, type, from_status, to_status, data) "
            "VALUES (?, ?, ?, ?, ?, ?)"
        )
        if len(rows) <= _FEW:  # one round trip per event beats three for the bulk form
            seqs = [int(_one(tx, f"{insert} RETURNING seq", row)["seq"]) for row in rows]
        else:
            top = _one(tx, "SELECT COALESCE(MAX(seq), 0) AS top FROM pc_events", ())
            tx.many(insert, rows)
            # the event-order lock (or SQLite's write lock) is held: these are exactly ours
            found = tx.rows("SELECT seq FROM pc_events WHERE seq > ? ORDER BY seq", (top["top"],))
            seqs = [int(r["seq"]) for r in found]
            if len(seqs) != len(specs):
                raise JournalError(f"appended {len(specs)} events but found {len(seqs)}")
        made = iter(
            trusted(
                Event,
                {
                    "seq": seq,
                    "payment_id": rid,
                    "at": at,
                    "type": spec.type,
                    "from_status": spec.from_status,
                    "to_status": spec.to_status,
                    "data": spec.data,
                },
            )
            for seq, (rid, at, spec) in zip(seqs, specs, strict=True)
        )
        return [tuple(next(made) for _ in p.events) for p in plans]

    # -- reads ----------------------------------------------------------------------------

    def get(self, record_id: str) -> Record:
        with self._transaction(write=False) as tx:
            row = tx.one("SELECT * FROM pc_payments WHERE id = ?", (record_id,))
        if row is None:
            raise PaymentNotFound(f"no payment or refund {record_id!r} in {self.url}")
        return self._record(row)

    def get_by_key(self, idempotency_key: str) -> Record | None:
        with self._transaction(write=False) as tx:
            row = tx.one("SELECT * FROM pc_payments WHERE idempotency_key = ?", (idempotency_key,))
        return None if row is None else self._record(row)

    def find(
        self,
        *,
        statuses: Iterable[Status] | None = None,
        channel: str | None = None,
        kind: Literal["payment", "refund"] | None = None,
        payer_id: str | None = None,
        reference: str | None = None,
        channel_ref: str | None = None,
        parent_id: str | None = None,
        attention: bool | None = None,
        after_id: str | None = None,
        limit: int = 100,
    ) -> list[Record]:
        where: list[str] = []
        params: list[Any] = []
        if statuses is not None:
            wanted = sorted({Status(s).value for s in statuses})
            if not wanted:
                return []
            where.append(f"status IN ({', '.join('?' for _ in wanted)})")
            params.extend(wanted)
        for column, value in (
            ("channel", channel),
            ("kind", kind),
            ("payer_id", payer_id),
            ("reference", reference),
            ("channel_ref", channel_ref),
            ("parent_id", parent_id),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if attention is not None:
            where.append("attention IS NOT NULL" if attention else "attention IS NULL")
        if after_id is not None:
            where.append("id > ?")
            params.append(after_id)
        clause = f"WHERE {' AND '.join(where)} " if where else ""
        with self._transaction(write=False) as tx:
            rows = tx.rows(
                f"SELECT * FROM pc_payments {clause}ORDER BY id LIMIT ?", (*params, limit)
            )
        return [self._record(r) for r in rows]

    def iter_all(self, *, batch: int = 1000, **filters: Any) -> Iterator[Record]:
        """Every matching record, fetched page by page (constant memory)."""
        after: str | None = None
        while True:
            page = self.find(after_id=after, limit=batch, **filters)
            yield from page
            if len(page) < batch:
                return
            after = page[-1].id

    def events(
        self, *, after: int = 0, record_id: str | None = None, limit: int = 1000
    ) -> list[Event]:
        with self._transaction(write=False) as tx:
            if record_id is None:
                rows = tx.rows(
                    "SELECT * FROM pc_events WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)
                )
            else:
                rows = tx.rows(
                    "SELECT * FROM pc_events WHERE payment_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                    (record_id, after, limit),
                )
        return [self._event(r) for r in rows]

    def scan_ledger(self, *, page: int = 5000) -> Iterator[list[LedgerRow]]:
        sql = (
            "SELECT id, kind, parent_id, channel, status, payer_id, reference, currency, "
            "amount_minor, taken_minor, channel_ref, reason, attention, "
            f"{self._json_text('request_json', 'operator')} AS operator, created_at, updated_at "
            "FROM pc_payments"  # storage order: walking the id index costs a third more
        )
        ts = self._ts_out
        for rows in self._stream(sql, (), page):
            # both drivers return BIGINT columns as int already
            yield [LedgerRow._make((*r[:14], ts(r[14]), ts(r[15]))) for r in rows]

    def state_items(self, prefix: str) -> list[tuple[str, str, StateEntry]]:
        with self._transaction(write=False) as tx:
            rows = tx.rows(
                "SELECT scope, key, value, version FROM pc_channel_state "
                "WHERE substr(key, 1, ?) = ? ORDER BY scope, key",
                (len(prefix), prefix),
            )
        return [
            (r["scope"], r["key"], StateEntry(json.loads(r["value"]), int(r["version"])))
            for r in rows
        ]

    def count_by_status(self, *, channel: str | None = None) -> dict[Status, int]:
        with self._transaction(write=False) as tx:
            if channel is None:
                rows = tx.rows("SELECT status, COUNT(*) AS n FROM pc_payments GROUP BY status")
            else:
                rows = tx.rows(
                    "SELECT status, COUNT(*) AS n FROM pc_payments WHERE channel = ? "
                    "GROUP BY status",
                    (channel,),
                )
        return {Status(r["status"]): int(r["n"]) for r in rows}

    # -- coordination ---------------------------------------------------------------------------

    def acquire_lock(self, name: str, owner: str, *, until: datetime, now: datetime) -> bool:
        with self._transaction(write=True) as tx:
            changed = tx.run(
                "INSERT INTO pc_locks (name, owner, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, "
                "expires_at = excluded.expires_at "
                "WHERE pc_locks.owner = excluded.owner OR pc_locks.expires_at < ?",
                (name, owner, self._ts_in(until), self._ts_in(now)),
            )
        return changed == 1

    def release_lock(self, name: str, owner: str) -> None:
        with self._transaction(write=True) as tx:
            tx.run("DELETE FROM pc_locks WHERE name = ? AND owner = ?", (name, owner))

    def lock_owner(self, name: str) -> str | None:
        with self._transaction(write=False) as tx:
            row = tx.one("SELECT owner FROM pc_locks WHERE name = ?", (name,))
        return None if row is None else str(row["owner"])

    def state_get(self, scope: str, key: str) -> StateEntry | None:
        with self._transaction(write=False) as tx:
            row = tx.one(
                "SELECT value, version FROM pc_channel_state WHERE scope = ? AND key = ?",
                (scope, key),
            )
        return None if row is None else StateEntry(json.loads(row["value"]), int(row["version"]))

    def state_put(
        self, scope: str, key: str, value: JsonValue, *, expected_version: int, now: datetime
    ) -> bool:
        text = dumps(value)
        with self._transaction(write=True) as tx:
            if expected_version == 0:
                changed = tx.run(
                    "INSERT INTO pc_channel_state (scope, key, value, version, updated_at) "
                    "VALUES (?, ?, ?, 1, ?) ON CONFLICT (scope, key) DO NOTHING",
                    (scope, key, text, self._ts_in(now)),
                )
            else:
                changed = tx.run(
                    "UPDATE pc_channel_state SET value = ?, version = version + 1, "
                    "updated_at = ? WHERE scope = ? AND key = ? AND version = ?",
                    (text, self._ts_in(now), scope, key, expected_version),
                )
        return changed == 1

    def state_next(self, scope: str, key: str, *, now: datetime, start: int = 1) -> int:
        with self._transaction(write=True) as tx:
            row = tx.one(
                "INSERT INTO pc_channel_state (scope, key, value, version, updated_at) "
                "VALUES (?, ?, ?, 1, ?) ON CONFLICT (scope, key) DO UPDATE SET "
                "value = CAST(CAST(pc_channel_state.value AS BIGINT) + 1 AS TEXT), "
                "version = pc_channel_state.version + 1, updated_at = excluded.updated_at "
                "RETURNING value",
                (scope, key, str(start), self._ts_in(now)),
            )
        assert row is not None
        return int(row["value"])
