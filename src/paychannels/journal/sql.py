"""The journal in SQL, shared by the SQLite and PostgreSQL backends.

Backends supply connections, transactions, timestamp conversion and the few statements that
differ (row locks, event ordering); everything else — the guard, idempotency, the obligation
rule, events — is written once here. All SQL uses ``?`` placeholders; the PostgreSQL backend
rewrites them.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import JsonValue

from paychannels.crashpoints import crashpoint
from paychannels.errors import (
    AlreadyInDoubt,
    IdempotencyConflict,
    IllegalTransition,
    InvalidRequest,
    JournalError,
    PaymentNotFound,
    SchemaOutdated,
    SchemaTooNew,
)
from paychannels.journal.base import Applied, Change, Decide, Journal, NewRecord, StateEntry
from paychannels.journal.schema import MIGRATIONS, SCHEMA_VERSION, Dialect, render
from paychannels.models import Event, EventType, Payment, Record, Refund
from paychannels.money import Money
from paychannels.reasons import Reason
from paychannels.status import OPEN_STATUSES, Status, check_transition

__all__ = ["Row", "SqlJournal", "Tx"]

Row = Mapping[str, Any]

_REQUEST_FIELDS = ("payer_name", "region", "operator", "period", "description", "metadata")
_OPEN_SQL = "(" + ",".join(f"'{s.value}'" for s in sorted(OPEN_STATUSES)) + ")"


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


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _touches_row(change: Change) -> bool:
    return (
        any(
            value is not None
            for value in (
                change.amount_taken,
                change.channel_ref,
                change.reason,
                change.reason_detail,
                change.attention,
                change.channel_data,
                change.claim,
            )
        )
        or change.release_claim
        or change.new_attempt
    )


class SqlJournal(Journal):
    """Journal logic over any SQL backend that provides ``Tx`` transactions."""

    dialect: Dialect
    for_update: str = ""

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

    def _before_events(self, tx: Tx) -> None:
        """Called before appending events, to make ``seq`` order equal commit order."""

    def _before_migrate(self, tx: Tx) -> None:
        """Called at the start of a migration transaction (PostgreSQL takes a lock)."""

    @abstractmethod
    def _is_obligation_violation(self, exc: BaseException) -> bool:
        """Whether an exception is the open-obligation unique index refusing an insert."""

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
        extra = json.loads(row["request_json"])
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
            "channel_data": json.loads(row["channel_data"]),
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
        return cls.model_construct(**fields)

    def _event(self, row: Row) -> Event:
        return Event.model_construct(
            seq=int(row["seq"]),
            payment_id=row["payment_id"],
            at=self._ts_out(row["at"]),
            type=EventType(row["type"]),
            from_status=Status(row["from_status"]) if row["from_status"] else None,
            to_status=Status(row["to_status"]) if row["to_status"] else None,
            data=json.loads(row["data"]),
        )

    # -- writes ---------------------------------------------------------------------------

    def create(self, new: NewRecord, *, now: datetime, then: Sequence[Change] = ()) -> Applied:
        try:
            with self._transaction(write=True) as tx:
                existing = tx.one(
                    "SELECT * FROM pc_payments WHERE idempotency_key = ?",
                    (new.request.idempotency_key,),
                )
                if existing is not None:
                    return self._existing(existing, new)
                if new.kind == "payment":
                    self._refuse_open_obligation(tx, new)
                else:
                    self._refuse_over_refund(tx, new)
                inserted = self._insert(tx, new, now)
                if not inserted:  # another process inserted the same key meanwhile
                    row = tx.one(
                        "SELECT * FROM pc_payments WHERE idempotency_key = ?",
                        (new.request.idempotency_key,),
                    )
                    assert row is not None
                    return self._existing(row, new)
                row = tx.one(f"SELECT * FROM pc_payments WHERE id = ?{self.for_update}", (new.id,))
                assert row is not None
                created = Change(event=EventType.CREATED, data={"fingerprint": new.fingerprint})
                current = self._record(row)
                events = self._append(tx, current, [created], now, initial=True)
                applied = self._apply(tx, current, list(then), now)
                return Applied(applied.record, events + applied.events, created=True)
        except Exception as exc:
            if not self._is_obligation_violation(exc):
                raise
            with self._transaction(write=False) as tx:
                self._refuse_open_obligation(tx, new)
            raise

    def _existing(self, row: Row, new: NewRecord) -> Applied:
        if row["fingerprint"] != new.fingerprint:
            raise IdempotencyConflict(
                f"idempotency key {new.request.idempotency_key!r} was already used for "
                f"{row['id']} with a different request (amount, payer, reference or "
                "channel differ); use a new key for a new request"
            )
        return Applied(self._record(row), (), created=False)

    def _refuse_open_obligation(self, tx: Tx, new: NewRecord) -> None:
        blocking = tx.one(
            "SELECT id, status FROM pc_payments WHERE payer_id = ? AND reference = ? "
            f"AND kind = 'payment' AND status IN {_OPEN_SQL}",
            (new.request.payer_id, new.request.reference),
        )
        if blocking is not None:
            raise AlreadyInDoubt(
                f"payer {new.request.payer_id!r} already has attempt {blocking['id']} for "
                f"{new.request.reference!r} in status {blocking['status']}; resolve it "
                "(status, recover or cancel) before a second attempt",
                blocking["id"],
            )

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

    def _insert(self, tx: Tx, new: NewRecord, now: datetime) -> bool:
        req = new.request
        extra = {name: getattr(req, name) for name in _REQUEST_FIELDS}
        ts = self._ts_in(now)
        count = tx.run(
            "INSERT INTO pc_payments (id, kind, parent_id, idempotency_key, fingerprint, "
            "channel, status, payer_id, reference, currency, amount_minor, request_json, "
            "channel_data, attempt, created_at, updated_at, version) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '{}', 0, ?, ?, 1) "
            "ON CONFLICT (idempotency_key) DO NOTHING",
            (
                new.id,
                new.kind,
                new.parent_id,
                req.idempotency_key,
                new.fingerprint,
                new.channel,
                Status.CREATED.value,
                req.payer_id,
                req.reference,
                req.amount.currency.code,
                req.amount.minor,
                _dumps(extra),
                ts,
                ts,
            ),
        )
        return count == 1

    def modify(self, record_id: str, decide: Decide, *, now: datetime) -> Applied:
        with self._transaction(write=True) as tx:
            row = tx.one(f"SELECT * FROM pc_payments WHERE id = ?{self.for_update}", (record_id,))
            if row is None:
                raise PaymentNotFound(f"no payment or refund {record_id!r} in {self.url}")
            current = self._record(row)
            return self._apply(tx, current, list(decide(current)), now)

    def _apply(self, tx: Tx, current: Record, changes: list[Change], now: datetime) -> Applied:
        if not changes:
            return Applied(current)
        upd: dict[str, Any] = {}
        status = current.status
        channel_data = dict(current.channel_data)
        attempt = current.attempt
        for ch in changes:
            if ch.to_status is not None:
                check_transition(status, ch.to_status, payment_id=current.id)
                status = ch.to_status
                upd["status"] = status.value
                if status is not Status.DISPATCHED:
                    upd["claimed_by"] = None
                    upd["lease_until"] = None
                # the reason explains the current status: a new status brings its own (or none)
                upd["reason"] = ch.reason.value if ch.reason else None
                upd["reason_detail"] = ch.reason_detail
            if ch.amount_taken is not None:
                if ch.amount_taken.currency != current.amount.currency:
                    raise JournalError(
                        f"{current.id}: amount taken in {ch.amount_taken.currency} but the "
                        f"payment is in {current.amount.currency}"
                    )
                upd["taken_minor"] = ch.amount_taken.minor
            if ch.channel_ref is not None:
                upd["channel_ref"] = ch.channel_ref
            if ch.to_status is None and ch.reason is not None:
                upd["reason"] = ch.reason.value
            if ch.to_status is None and ch.reason_detail is not None:
                upd["reason_detail"] = ch.reason_detail
            if ch.attention is not None:
                upd["attention"] = ch.attention or None
            if ch.channel_data:
                channel_data.update(ch.channel_data)
                upd["channel_data"] = _dumps(channel_data)
            if ch.claim is not None:
                upd["claimed_by"] = ch.claim.owner
                upd["lease_until"] = self._ts_in(ch.claim.until)
            if ch.release_claim:
                upd["claimed_by"] = None
                upd["lease_until"] = None
            if ch.new_attempt:
                attempt += 1
                upd["attempt"] = attempt
        upd["updated_at"] = self._ts_in(now)
        assignments = ", ".join(f"{col} = ?" for col in upd)
        tx.run(
            f"UPDATE pc_payments SET {assignments}, version = version + 1 WHERE id = ?",
            (*upd.values(), current.id),
        )
        events = self._append(tx, current, changes, now)
        crashpoint("journal.before_commit")
        return Applied(self._updated(current, upd, channel_data, now), events)

    def _updated(
        self, current: Record, upd: dict[str, Any], channel_data: dict[str, Any], now: datetime
    ) -> Record:
        """The record as the UPDATE left it, built without reading it back."""
        fields: dict[str, Any] = {"updated_at": now, "version": current.version + 1}
        cur = current.amount.currency
        for column, value in upd.items():
            match column:
                case "status":
                    fields["status"] = Status(value)
                case "taken_minor":
                    fields["amount_taken"] = Money.of_minor(value, cur)
                case "reason":
                    fields["reason"] = Reason(value) if value else None
                case "channel_data":
                    fields["channel_data"] = channel_data
                case "lease_until":
                    fields["lease_until"] = None if value is None else self._ts_out(value)
                case "updated_at":
                    pass
                case _:
                    fields[column] = value
        return current.model_copy(update=fields)

    def append(self, record_id: str, change: Change, *, now: datetime) -> Applied:
        if change.to_status is not None or _touches_row(change):
            raise ValueError("append() takes annotations only; use modify() for changes")
        with self._transaction(write=True) as tx:
            row = tx.one("SELECT * FROM pc_payments WHERE id = ?", (record_id,))
            if row is None:
                raise PaymentNotFound(f"no payment or refund {record_id!r} in {self.url}")
            current = self._record(row)
            return Applied(current, self._append(tx, current, [change], now))

    def _append(
        self,
        tx: Tx,
        current: Record,
        changes: Iterable[Change],
        now: datetime,
        *,
        initial: bool = False,
    ) -> tuple[Event, ...]:
        self._before_events(tx)
        status: Status | None = None if initial else current.status
        out: list[Event] = []
        at = self._ts_in(now)
        for ch in changes:
            to_status = Status.CREATED if initial else ch.to_status
            from_status = status if to_status is not None else None
            data = dict(ch.data)
            if ch.reason is not None:
                data.setdefault("reason", ch.reason.value)
            if ch.reason_detail is not None:
                data.setdefault("reason_detail", ch.reason_detail)
            if ch.attention:
                data.setdefault("attention", ch.attention)
            if ch.amount_taken is not None:
                data.setdefault("amount_taken_minor", ch.amount_taken.minor)
            row = tx.one(
                "INSERT INTO pc_events (payment_id, at, type, from_status, to_status, data) "
                "VALUES (?, ?, ?, ?, ?, ?) RETURNING seq",
                (
                    current.id,
                    at,
                    ch.event.value,
                    from_status.value if from_status else None,
                    to_status.value if to_status else None,
                    _dumps(data),
                ),
            )
            assert row is not None
            out.append(
                Event.model_construct(
                    seq=int(row["seq"]),
                    payment_id=current.id,
                    at=now,
                    type=ch.event,
                    from_status=from_status,
                    to_status=to_status,
                    data=data,
                )
            )
            if to_status is not None:
                status = to_status
        return tuple(out)

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
        text = _dumps(value)
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
