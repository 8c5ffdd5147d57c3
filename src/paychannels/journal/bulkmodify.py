"""The set-based path for one answer to many records: a bank chunk's DISPATCHED -> PENDING.

``modify_known`` takes records as the caller read them (just claimed) with the changes for
each. Every plan is made in Python exactly as ``modify_many`` makes it; plans that differ
only in their channel reference are *alike* and go to the database as one ``UPDATE … FROM``
and one ``INSERT … SELECT`` of their events over a staged table, in the order of their ids
(the row path's lock order), so rows and events are byte for byte the row path's. A row
whose version moved since the caller read it (a callback, another process), a plan of more
than one event, an illegal step or a group too small comes back ``None``: the caller sends
it through the row path, which reads the row again and names every refusal.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from paychannels.journal.base import Applied, Change
from paychannels.journal.plan import Plan, plan
from paychannels.journal.sqlbase import Tx
from paychannels.journal.sqlwrites import SqlWrites, columns_set, stored_json
from paychannels.runtime.crashpoints import crashpoint
from paychannels.values.errors import IllegalTransition, InvalidRequest, JournalError
from paychannels.values.models import Event, Record, trusted

__all__ = ["ALIKE_MIN", "SqlBulkModify"]

ALIKE_MIN = 64  # fewer alike plans than this take the row path
_CHUNK = 5000  # records per transaction
_GROUPS = 8  # kinds of answer looked for in one call; a record of any other: the row path
STAGE = "pc_stage_known"
_STAGE_COLUMNS = ("n", "id", "version", "channel_ref", "columns_set")
_STAGE_DDL = (
    f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} ("
    "n {bigint} PRIMARY KEY, id TEXT NOT NULL, version {bigint} NOT NULL, "
    "channel_ref TEXT, columns_set TEXT NOT NULL, odd INTEGER NOT NULL DEFAULT 0)"
)
_PER_ROW = "channel_ref"  # the one column alike plans may differ in
_FIELDS = {"taken_minor": "amount_taken"}  # a column's name on the record, where it differs


class SqlBulkModify(SqlWrites):
    """``modify_known`` set-based for alike plans; see the module docstring."""

    def modify_known(
        self, items: Sequence[tuple[Record, Sequence[Change]]], *, now: datetime
    ) -> list[Applied | None]:
        results: list[Applied | None] = [None] * len(items)
        groups: list[list[tuple[int, Plan]]] = []
        for i, (record, changes) in enumerate(items):
            try:
                step = plan(record, list(changes), now)
            except (IllegalTransition, InvalidRequest):
                continue  # the row path names it
            if len(step.events) != 1 or not step.columns:
                continue
            group = next((g for g in groups if _alike(g[0][1], step)), None)
            if group is None and len(groups) < _GROUPS:
                groups.append([(i, step)])
            elif group is None:
                continue  # answers all different: the row path, not a quadratic search
            else:
                group.append((i, step))
        for members in groups:
            if len(members) < ALIKE_MIN:
                continue
            members.sort(key=lambda m: m[1].record.id)  # the row path's lock order
            for start in range(0, len(members), _CHUNK):
                chunk = members[start : start + _CHUNK]
                for (i, _step), applied in zip(chunk, self._write_alike(chunk, items), strict=True):
                    results[i] = applied
        return results

    def _write_alike(
        self, chunk: Sequence[tuple[int, Plan]], items: Sequence[tuple[Record, Sequence[Change]]]
    ) -> list[Applied | None]:
        """One transaction: the rows still as read updated, their events appended."""
        proto = chunk[0][1]
        staged = [
            (
                n,
                step.record.id,
                items[i][0].version,
                self._db(_PER_ROW, step.columns.get(_PER_ROW)),
                columns_set(step.events[0].sets),
            )
            for n, (i, step) in enumerate(chunk)
        ]
        with self._transaction(write=True) as tx:
            tx.run(_STAGE_DDL.format(**self._types()))
            tx.run(f"{'TRUNCATE' if self.dialect == 'postgres' else 'DELETE FROM'} {STAGE}")
            self._stage_insert(tx, STAGE, _STAGE_COLUMNS, staged)
            self._after_stage(tx, STAGE)
            # the rows locked in id order (as modify_many locks them), then the moved ones out
            tx.rows(
                f"SELECT id FROM pc_payments WHERE id IN (SELECT id FROM {STAGE}) "
                f"ORDER BY id{self.for_update}"
            )
            tx.run(
                f"UPDATE {STAGE} SET odd = 1 WHERE NOT EXISTS (SELECT 1 FROM pc_payments p "
                f"WHERE p.id = {STAGE}.id AND p.version = {STAGE}.version)"
            )
            moved = {int(r["n"]) for r in tx.rows(f"SELECT n FROM {STAGE} WHERE odd = 1")}
            if len(moved) == len(staged):
                return [None] * len(chunk)
            self._update_rows(tx, proto, len(staged) - len(moved))
            seqs = self._append_alike(tx, proto)
            crashpoint("journal.before_commit")  # as every write path passes it
        out: list[Applied | None] = []
        for n, (_i, step) in enumerate(chunk):
            if n in moved:
                out.append(None)
                continue
            # ``plan`` counted the version up, as the UPDATE did
            out.append(Applied(step.record, (_event(step, seqs[step.record.id]),)))
        return out

    def _update_rows(self, tx: Tx, proto: Plan, expected: int) -> None:
        constants = [c for c in proto.columns if c != _PER_ROW]
        values = [self._db(c, proto.columns[c]) for c in constants]
        sets = [f"{c} = ?" for c in constants]
        if _PER_ROW in proto.columns:
            sets.append(f"{_PER_ROW} = s.{_PER_ROW}")
        updated = tx.run(
            f"UPDATE pc_payments SET {', '.join(sets)}, version = pc_payments.version + 1 "
            f"FROM {STAGE} s WHERE pc_payments.id = s.id AND s.odd = 0",
            values,
        )
        if updated != expected:  # the rows are locked: a shortfall is a bug, never a race
            raise JournalError(f"updated {updated} rows of {expected} alike")

    def _append_alike(self, tx: Tx, proto: Plan) -> dict[str, int]:
        """The one event of each staged row, in id order; their seqs by record id."""
        spec = proto.events[0]
        self._before_events(tx)
        top = tx.one("SELECT COALESCE(MAX(seq), 0) AS top FROM pc_events")
        first = int(top["top"]) if top else 0
        values: list[Any] = [
            self._ts_in(proto.at),
            spec.type.value,
            spec.from_status.value if spec.from_status else None,
            spec.to_status.value if spec.to_status else None,
            stored_json(spec.data),
        ]
        marks = ", ".join(self._alike_mark(v) for v in values)
        tx.run(
            "INSERT INTO pc_events (payment_id, at, type, from_status, to_status, data, "
            f"columns_set) SELECT s.id, {marks}, s.columns_set FROM {STAGE} s "
            "WHERE s.odd = 0 ORDER BY s.n",
            [v for v in values if v is not None],
        )
        rows = tx.rows("SELECT seq, payment_id FROM pc_events WHERE seq > ? ORDER BY seq", (first,))
        return {row["payment_id"]: int(row["seq"]) for row in rows}

    def _alike_mark(self, value: Any) -> str:
        """A constant's placeholder in a SELECT list (typed for PostgreSQL, which cannot
        infer it there); None is the literal NULL and takes no parameter."""
        if value is None:
            return "NULL"
        if self.dialect != "postgres":
            return "?"
        return "CAST(? AS TIMESTAMPTZ)" if isinstance(value, datetime) else "CAST(? AS TEXT)"


def _event(step: Plan, seq: int) -> Event:
    spec = step.events[0]
    return trusted(
        Event,
        {
            "seq": seq,
            "payment_id": step.record.id,
            "channel": step.record.channel,
            "at": step.at,
            "type": spec.type,
            "from_status": spec.from_status,
            "to_status": spec.to_status,
            "data": spec.data,
        },
    )


def _alike(a: Plan, b: Plan) -> bool:
    """Whether two one-event plans write the same but for the channel reference: the same
    columns and event, every value the same and of the same type (``1``, ``1.0`` and
    ``True`` are equal in Python, not in the JSON text written)."""
    sa, sb = a.events[0], b.events[0]
    return (
        a.columns.keys() == b.columns.keys()
        and all(_same(v, b.columns[c]) for c, v in a.columns.items() if c != _PER_ROW)
        and (sa.type, sa.from_status, sa.to_status) == (sb.type, sb.from_status, sb.to_status)
        and sa.sets.keys() == sb.sets.keys()
        and _same(sa.data, sb.data)
    )


def _same(a: Any, b: Any) -> bool:
    """Equal and of the same type, all the way down (JSON-like values)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(v, b[k]) for k, v in a.items())
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)
