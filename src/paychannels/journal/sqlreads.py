"""The SQL journal's reads (records, events, the ledger scan, counts) and its coordination
rows (cross-process locks, per-channel state and counters)."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator
from datetime import datetime
from typing import Any, Literal

from pydantic import JsonValue

from paychannels.journal.base import (
    Backlog,
    Claim,
    LedgerRow,
    StateEntry,
    StateWrite,
)
from paychannels.journal.replay import StoredEvent, replay
from paychannels.journal.sqlbase import SqlBase
from paychannels.values.errors import (
    PaymentNotFound,
)
from paychannels.values.models import Event, Record
from paychannels.values.status import Status

__all__ = ["SqlReads"]


_EVENT_COLUMNS = "seq, payment_id, type, from_status, to_status, columns_set"


class SqlReads(SqlBase):
    """Reading records and events; locks and per-channel state."""

    def verify(self, record_id: str) -> list[str]:
        with self._transaction(write=False) as tx:
            row = tx.one("SELECT * FROM pc_payments WHERE id = ?", (record_id,))
            events = tx.rows(
                f"SELECT {_EVENT_COLUMNS} FROM pc_events WHERE payment_id = ? ORDER BY seq",
                (record_id,),
            )
        if row is None and not events:
            raise PaymentNotFound(f"no payment or refund {record_id!r} in {self.url}")
        return replay(row, [StoredEvent.from_row(e) for e in events], ts=self._ts_out)

    def audit(self, *, page: int = 1000) -> Iterator[tuple[str, list[str]]]:
        # One read snapshot for the whole walk, so payments going on meanwhile are not
        # mistaken for tampering.
        with self._transaction(write=False) as tx:
            self._read_snapshot(tx)
            after = ""
            while True:
                rows = tx.rows(
                    "SELECT * FROM pc_payments WHERE id > ? ORDER BY id LIMIT ?", (after, page)
                )
                if not rows:
                    break
                ids = [r["id"] for r in rows]
                marks = ", ".join("?" for _ in ids)
                grouped: dict[str, list[StoredEvent]] = {}
                for ev in tx.rows(
                    f"SELECT {_EVENT_COLUMNS} FROM pc_events WHERE payment_id IN ({marks}) "
                    "ORDER BY seq",
                    ids,
                ):
                    grouped.setdefault(ev["payment_id"], []).append(StoredEvent.from_row(ev))
                for row in rows:
                    yield row["id"], replay(row, grouped.get(row["id"], []), ts=self._ts_out)
                after = ids[-1]
            orphans: dict[str, list[StoredEvent]] = {}
            for ev in tx.rows(
                f"SELECT {_EVENT_COLUMNS} FROM pc_events e WHERE NOT EXISTS "
                "(SELECT 1 FROM pc_payments p WHERE p.id = e.payment_id) ORDER BY seq"
            ):
                orphans.setdefault(ev["payment_id"], []).append(StoredEvent.from_row(ev))
            for record_id, events in orphans.items():
                yield record_id, replay(None, events, ts=self._ts_out)

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
        claimed: bool | None = None,
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
        if claimed is not None:
            where.append("claimed_by IS NOT NULL" if claimed else "claimed_by IS NULL")
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
        # each event with its record's channel (a subscriber labels by channel without a read)
        select = (
            "SELECT e.*, p.channel FROM pc_events e LEFT JOIN pc_payments p ON p.id = e.payment_id"
        )
        with self._transaction(write=False) as tx:
            if record_id is None:
                rows = tx.rows(f"{select} WHERE e.seq > ? ORDER BY e.seq LIMIT ?", (after, limit))
            else:
                rows = tx.rows(
                    f"{select} WHERE e.payment_id = ? AND e.seq > ? ORDER BY e.seq LIMIT ?",
                    (record_id, after, limit),
                )
        return [self._event(r) for r in rows]

    def scan_ledger(
        self, *, page: int = 5000, channels: Collection[str] | None = None
    ) -> Iterator[list[LedgerRow]]:
        params: tuple[str, ...] = () if channels is None else tuple(sorted(channels))
        where = f" WHERE channel IN ({', '.join('?' for _ in params)})" if params else ""
        if channels is not None and not params:
            return
        sql = (
            "SELECT id, kind, parent_id, channel, status, payer_id, reference, currency, "
            "amount_minor, taken_minor, channel_ref, reason, attention, "
            f"{self._json_text('request_json', 'operator')} AS operator, created_at, updated_at "
            "FROM pc_payments" + where  # storage order: the id index would cost a third more
        )
        ts = self._ts_out
        for rows in self._stream(sql, params, page):
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

    def backlog(self, *, now: datetime) -> list[Backlog]:
        with self._transaction(write=False) as tx:
            rows = tx.rows(
                "SELECT channel,"
                " SUM(CASE WHEN status = 'UNKNOWN' THEN 1 ELSE 0 END) AS unknown,"
                " SUM(CASE WHEN status = 'NEEDS_ATTENTION' THEN 1 ELSE 0 END) AS attention,"
                " SUM(CASE WHEN status = 'DISPATCHED' AND lease_until < ? THEN 1 ELSE 0 END)"
                " AS overdue"
                " FROM pc_payments"
                " WHERE status IN ('UNKNOWN', 'NEEDS_ATTENTION', 'DISPATCHED')"
                " GROUP BY channel ORDER BY channel",
                (self._ts_in(now),),
            )
        return [
            Backlog(r["channel"], int(r["unknown"]), int(r["attention"]), int(r["overdue"]))
            for r in rows
        ]

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

    def locks(self) -> dict[str, Claim]:
        with self._transaction(write=False) as tx:
            rows = tx.rows("SELECT name, owner, expires_at FROM pc_locks ORDER BY name")
        return {str(r["name"]): Claim(str(r["owner"]), self._ts_out(r["expires_at"])) for r in rows}

    def expire_locks(self, *, now: datetime) -> list[str]:
        # one statement: a holder renewing at this moment either renewed first (kept) or
        # inserts its row afresh after (held again)
        with self._transaction(write=True) as tx:
            rows = tx.rows(
                "DELETE FROM pc_locks WHERE expires_at < ? RETURNING name", (self._ts_in(now),)
            )
        return sorted(str(r["name"]) for r in rows)

    def lock_owner(self, name: str) -> str | None:
        row = self._read_one("SELECT owner FROM pc_locks WHERE name = ?", (name,))
        return None if row is None else str(row["owner"])

    def state_get(self, scope: str, key: str) -> StateEntry | None:
        row = self._read_one(
            "SELECT value, version FROM pc_channel_state WHERE scope = ? AND key = ?",
            (scope, key),
        )
        return None if row is None else StateEntry(json.loads(row["value"]), int(row["version"]))

    def state_put(
        self, scope: str, key: str, value: JsonValue, *, expected_version: int, now: datetime
    ) -> bool:
        with self._transaction(write=True) as tx:
            return self._put_state(tx, StateWrite(scope, key, value, expected_version), now)

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
