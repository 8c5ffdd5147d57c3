"""A roster's obligations staged beside the journal, so that the database does the join.

Reconciling a province (ten million obligations) cannot keep every payer in one process's
dicts. The obligations are loaded into a table of their own (``pc_rec_<run>``: COPY on
PostgreSQL, batched inserts on SQLite), and the journal answers set-based questions about
them: which lines repeat a payer and period, which obligations are plainly unpaid or
plainly paid (one payment, succeeded, exactly the amount, nothing refunded — decided by
one UPDATE), the payments and refunds of the few that need judgement (streamed, in
obligation order), the payments no obligation names, totals per group, and at the end
every obligation as a detail row from a server-side cursor. The table is a plain one (not
TEMP: the rows are read again after ``reconcile`` returns, maybe from another thread), is
UNLOGGED on PostgreSQL (scratch, rebuilt from the roster), and is dropped by
``drop_obligations``; tables a crashed run left are dropped after a day.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from paychannels.journal.base import LedgerRow
from paychannels.journal.sqlbase import SqlBase

__all__ = ["OBLIGATION_COLUMNS", "SqlObligations", "new_run"]

#: the columns a caller stages, in this order
OBLIGATION_COLUMNS = (
    "seq",
    "line",
    "payer_id",
    "name",
    "township",
    "village",
    "period",
    "reference",
    "grade",
    "owed_minor",
    "currency",
)
_PREFIX = "pc_rec_"
_RUN = re.compile(r"^[0-9]{14}_[0-9a-f]{8}$")
_BATCH = 20_000
_IN_DOUBT = "('DISPATCHED', 'PENDING', 'UNKNOWN', 'NEEDS_ATTENTION')"

_DDL = (
    "CREATE {unlogged}TABLE {table} (seq {bigint} PRIMARY KEY, line {bigint} NOT NULL, "
    "payer_id TEXT NOT NULL, name TEXT NOT NULL, township TEXT NOT NULL, "
    "village TEXT NOT NULL, period TEXT NOT NULL, reference TEXT NOT NULL, "
    "grade TEXT NOT NULL, owed_minor {bigint} NOT NULL, currency TEXT NOT NULL, "
    "category TEXT, received_minor {bigint}, channels TEXT, records TEXT, why TEXT, "
    "concern TEXT)"
)


def new_run(now: datetime | None = None) -> str:
    """A run's name: its UTC start (so stale tables can be told by name) and a random tail."""
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%d%H%M%S")
    return f"{stamp}_{secrets.token_hex(4)}"


def _table(run: str) -> str:
    if not _RUN.match(run):
        raise ValueError(f"not a reconciliation run name: {run[:40]!r}")
    return _PREFIX + run


class SqlObligations(SqlBase):
    """Staging a roster and the set-based questions reconciliation asks about it."""

    def can_stage(self) -> bool:
        """Whether this session may create the run's table: not on a read replica (a hot
        standby) or a session opened read-only, where reconciliation reads in the client."""
        if self.dialect != "postgres":
            return True
        with self._transaction(write=False) as tx:
            row = tx.one("SELECT current_setting('transaction_read_only') AS ro")
        return row is None or row["ro"] != "on"

    def stage_obligations(self, run: str, rows: Iterable[Sequence[Any]]) -> int:
        """Load obligations (``OBLIGATION_COLUMNS``) into the run's table; how many."""
        table = _table(run)
        self._owed_drop_stale(datetime.now(UTC) - timedelta(days=1))
        unlogged = "UNLOGGED " if self.dialect == "postgres" else ""
        with self._transaction(write=True) as tx:
            tx.run(_DDL.format(table=table, unlogged=unlogged, **self._types()))
        n = 0
        batch: list[Sequence[Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= _BATCH:
                n += self._owed_insert(table, batch)
                batch = []
        n += self._owed_insert(table, batch)
        with self._transaction(write=True) as tx:
            tx.run(f"CREATE INDEX {table}_obligation ON {table} (payer_id, reference)")
            self._after_stage(tx, table)
        return n

    def _owed_insert(self, table: str, batch: Sequence[Sequence[Any]]) -> int:
        if batch:
            with self._transaction(write=True) as tx:
                self._stage_insert(tx, table, OBLIGATION_COLUMNS, batch)
        return len(batch)

    def obligation_repeats(self, run: str) -> list[tuple[int, int]]:
        """Lines naming a payer and reference an earlier line named: (line, first line)."""
        table = _table(run)
        with self._transaction(write=False) as tx:
            rows = tx.rows(
                f"SELECT s.line AS line, f.first AS first FROM {table} s JOIN "
                f"(SELECT payer_id, reference, MIN(line) AS first FROM {table} "
                "GROUP BY payer_id, reference HAVING COUNT(*) > 1) f "
                "ON f.payer_id = s.payer_id AND f.reference = s.reference "
                "WHERE s.line > f.first ORDER BY s.line"
            )
        return [(int(r["line"]), int(r["first"])) for r in rows]

    def settle_plain_obligations(self, run: str) -> None:
        """Decide in SQL what needs no judgement: no payment at all (unpaid), or one
        payment that took exactly what was owed, unrefunded and unflagged (paid)."""
        t = _table(run)
        with self._transaction(write=True) as tx:
            tx.run(
                f"UPDATE {t} SET category = 'unpaid', received_minor = 0, channels = '', "
                "records = '', why = '' WHERE NOT EXISTS (SELECT 1 FROM pc_payments p "
                f"WHERE p.payer_id = {t}.payer_id AND p.reference = {t}.reference "
                "AND p.kind = 'payment')"
            )
            tx.run(
                f"UPDATE {t} SET category = 'paid', received_minor = {t}.owed_minor, "
                "channels = p.channel, records = p.id, why = '' FROM pc_payments p "
                f"WHERE p.payer_id = {t}.payer_id AND p.reference = {t}.reference "
                f"AND p.kind = 'payment' AND {t}.category IS NULL "
                f"AND p.status = 'SUCCEEDED' AND p.attention IS NULL "
                f"AND p.amount_minor = {t}.owed_minor AND p.currency = {t}.currency "
                f"AND (p.taken_minor IS NULL OR p.taken_minor = {t}.owed_minor) "
                "AND NOT EXISTS (SELECT 1 FROM pc_payments q WHERE q.payer_id = p.payer_id "
                "AND q.reference = p.reference AND q.kind = 'payment' AND q.id <> p.id) "
                "AND NOT EXISTS (SELECT 1 FROM pc_payments r WHERE r.parent_id = p.id "
                "AND r.kind = 'refund')"
            )

    def open_obligations(
        self, run: str, first: int, last: int
    ) -> list[tuple[tuple[Any, ...], list[LedgerRow], list[LedgerRow]]]:
        """The obligations SQL left undecided with ``first <= seq <= last``, in roster
        order: (its ``OBLIGATION_COLUMNS``, its payments, their refunds), payments and
        refunds in the order they were journaled. A range at a time, so that what is
        decided can be written back between ranges."""
        t = _table(run)
        cols = ", ".join(f"{t}.{c}" for c in OBLIGATION_COLUMNS)
        on = f"p.payer_id = {t}.payer_id AND p.reference = {t}.reference AND p.kind = 'payment'"
        where = f"{t}.category IS NULL AND {t}.seq BETWEEN ? AND ?"
        sql = (
            f"SELECT {cols}, 0 AS part, {self._owed_ledger('p')}, {self._owed_order('p')} FROM {t} "
            f"JOIN pc_payments p ON {on} WHERE {where} UNION ALL "
            f"SELECT {cols}, 1, {self._owed_ledger('r')}, {self._owed_order('r')} FROM {t} "
            f"JOIN pc_payments p ON {on} JOIN pc_payments r ON r.parent_id = p.id "
            f"AND r.kind = 'refund' WHERE {where} ORDER BY 1, 12, 29, 30"
        )
        n = len(OBLIGATION_COLUMNS)
        pages = list(self._stream(sql, (first, last, first, last), 5000))
        return list(self._owed_grouped(iter(pages), key=n))

    def unrostered(
        self, run: str, *, page: int = 5000
    ) -> Iterator[tuple[list[LedgerRow], list[LedgerRow]]]:
        """Payments for an obligation the roster lacks, per payer and reference in code
        point order: (its payments, their refunds)."""
        t = _table(run)
        c = ' COLLATE "C"' if self.dialect == "postgres" else ""
        none = (
            f"NOT EXISTS (SELECT 1 FROM {t} WHERE {t}.payer_id = p.payer_id "
            f"AND {t}.reference = p.reference)"
        )
        key = f"p.payer_id{c}, p.reference{c}"
        sql = (
            f"SELECT {key}, 0, {self._owed_ledger('p')}, {self._owed_order('p')} "
            f"FROM pc_payments p WHERE p.kind = 'payment' AND {none} UNION ALL "
            f"SELECT {key}, 1, {self._owed_ledger('r')}, {self._owed_order('r')} "
            "FROM pc_payments p JOIN pc_payments r ON r.parent_id = p.id AND r.kind = 'refund' "
            f"WHERE p.kind = 'payment' AND {none} ORDER BY 1, 2, 3, 20, 21"
        )
        for _key, payments, refunds in self._owed_grouped(self._stream(sql, (), page), key=2):
            yield payments, refunds

    def _owed_grouped(
        self, pages: Iterator[list[tuple[Any, ...]]], *, key: int
    ) -> Iterator[tuple[Any, list[LedgerRow], list[LedgerRow]]]:
        """Rows ``(*key, part, *ledger, order...)`` grouped by key: payments, refunds."""
        ts = self._ts_out
        current: Any = None
        parts: tuple[list[LedgerRow], list[LedgerRow]] = ([], [])
        for rows in pages:
            for r in rows:
                k = r[:key]
                if k != current:
                    if current is not None:
                        yield current, parts[0], parts[1]
                    current, parts = k, ([], [])
                c = r[key + 1 :]
                parts[r[key]].append(LedgerRow._make((*c[:14], ts(c[14]), ts(c[15]))))
        if current is not None:
            yield current, parts[0], parts[1]

    def _owed_ledger(self, a: str) -> str:
        """The ``LedgerRow`` columns of table alias ``a``."""
        return (
            f"{a}.id, {a}.kind, {a}.parent_id, {a}.channel, {a}.status, {a}.payer_id, "
            f"{a}.reference, {a}.currency, {a}.amount_minor, {a}.taken_minor, {a}.channel_ref, "
            f"{a}.reason, {a}.attention, {self._json_text(a + '.request_json', 'operator')}, "
            f"{a}.created_at, {a}.updated_at"
        )

    def _owed_order(self, a: str) -> str:
        """Journaled order: the intent's time, then where the row is stored."""
        return f"{a}.created_at, {a}.{'ctid' if self.dialect == 'postgres' else 'rowid'}"

    def decide_obligations(self, run: str, verdicts: Iterable[Sequence[Any]]) -> None:
        """Store what Python judged: (category, received, channels, records, why, concern,
        seq); ``concern`` is what a person must read about it, or None."""
        t = _table(run)
        sql = (
            f"UPDATE {t} SET category = ?, received_minor = ?, channels = ?, records = ?, "
            "why = ?, concern = ? WHERE seq = ?"
        )
        batch: list[Sequence[Any]] = []
        for v in verdicts:
            batch.append(v)
            if len(batch) >= _BATCH:
                with self._transaction(write=True) as tx:
                    tx.many(sql, batch)
                batch = []
        if batch:
            with self._transaction(write=True) as tx:
                tx.many(sql, batch)

    def obligation_totals(self, run: str, by: str) -> list[tuple[str, str, str, int, int, int]]:
        """Per ``by`` (township, period or village): (township or period, village, category,
        obligations, owed, received)."""
        first, second = {"township": ("township", ""), "period": ("period", "")}.get(
            by, ("township", "village")
        )
        keys = f"{first}, {second}" if second else first
        t = _table(run)
        with self._transaction(write=False) as tx:
            rows = tx.rows(
                f"SELECT {first} AS a, {second or repr('')} AS b, category AS c, "
                f"COUNT(*) AS n, SUM(owed_minor) AS owed, SUM(received_minor) AS got "
                f"FROM {t} GROUP BY {keys}, category"
            )
        return [
            (str(r["a"]), str(r["b"]), str(r["c"]), int(r["n"]), int(r["owed"]), int(r["got"]))
            for r in rows
        ]

    def obligation_rows(
        self, run: str, *, page: int = 5000, by_place: bool = False
    ) -> Iterator[list[tuple[Any, ...]]]:
        """Every obligation in roster order (``by_place``: by township, then village, in code
        point order as Python sorts, roster order within one): ``OBLIGATION_COLUMNS`` less
        seq, then category, received, channels, records, why; streamed (a server-side cursor
        on PostgreSQL)."""
        t = _table(run)
        c = ' COLLATE "C"' if self.dialect == "postgres" else ""  # SQLite's BINARY is
        order = f"township{c}, village{c}, seq" if by_place else "seq"
        yield from self._stream(
            f"SELECT {', '.join(OBLIGATION_COLUMNS[1:])}, category, received_minor, channels, "
            f"records, why FROM {t} ORDER BY {order}",
            (),
            page,
        )

    def obligation_concerns(self, run: str, *, page: int = 5000) -> Iterator[list[tuple[Any, ...]]]:
        """The obligations a person must look at, in roster order: line, payer_id, name,
        township, village, reference, category, records, concern; streamed like
        ``obligation_rows`` (a province's concerns stay in the database, not in a list)."""
        t = _table(run)
        yield from self._stream(
            "SELECT line, payer_id, name, township, village, reference, category, records, "
            f"concern FROM {t} WHERE concern IS NOT NULL ORDER BY seq",
            (),
            page,
        )

    def ledger_totals(self) -> list[tuple[str, str, str, int, int]]:
        """Per channel, kind and status: (channel, kind, status, records, money moved)."""
        with self._transaction(write=False) as tx:
            rows = tx.rows(
                "SELECT channel, kind, status, COUNT(*) AS n, "
                "SUM(COALESCE(taken_minor, amount_minor)) AS moved FROM pc_payments "
                "GROUP BY channel, kind, status"
            )
        return [
            (str(r["channel"]), str(r["kind"]), str(r["status"]), int(r["n"]), int(r["moved"] or 0))
            for r in rows
        ]

    def operator_totals(self) -> list[tuple[str | None, str, str, str, int, int, Any]]:
        """Per collecting operator: payments by (operator, channel, 'payment', status) and
        succeeded refunds by the operator of the payment they give back ('refund'); last,
        where the group's first payment is stored (operators are listed in that order
        where their money ties, as a scan of the journal meets them)."""
        first = (
            "MIN((p.ctid::text::point)[0] * 65536 + (p.ctid::text::point)[1])"
            if self.dialect == "postgres"
            else "MIN(p.rowid)"
        )
        op = self._json_text("p.request_json", "operator")
        parent = self._json_text("q.request_json", "operator")
        with self._transaction(write=False) as tx:
            rows = tx.rows(
                f"SELECT {op} AS op, p.channel AS channel, 'payment' AS kind, p.status AS status, "
                "COUNT(*) AS n, SUM(COALESCE(p.taken_minor, p.amount_minor)) AS moved, "
                f"{first} AS first FROM pc_payments p WHERE p.kind = 'payment' "
                f"GROUP BY {op}, p.channel, p.status "
                f"UNION ALL SELECT {parent}, '', 'refund', 'SUCCEEDED', COUNT(*), "
                "SUM(COALESCE(p.taken_minor, p.amount_minor)), NULL FROM pc_payments p "
                "LEFT JOIN pc_payments q ON q.id = p.parent_id AND q.kind = 'payment' "
                f"WHERE p.kind = 'refund' AND p.status = 'SUCCEEDED' GROUP BY {parent}"
            )
        return [
            (
                None if r["op"] is None else str(r["op"]),
                str(r["channel"]),
                str(r["kind"]),
                str(r["status"]),
                int(r["n"]),
                int(r["moved"] or 0),
                r["first"],
            )
            for r in rows
        ]

    def in_doubt_ids(self) -> list[tuple[str, str]]:
        """(channel, id) of every payment, then every refund, whose outcome is not known."""
        with self._transaction(write=False) as tx:
            rows = tx.rows(
                f"SELECT channel, id FROM pc_payments p WHERE status IN {_IN_DOUBT} "
                f"ORDER BY CASE WHEN kind = 'refund' THEN 1 ELSE 0 END, {self._owed_order('p')}"
            )
        return [(str(r["channel"]), str(r["id"])) for r in rows]

    def drop_obligations(self, run: str) -> None:
        """Drop the run's table (nothing happens if it is gone)."""
        with self._transaction(write=True) as tx:
            tx.run(f"DROP TABLE IF EXISTS {_table(run)}")

    def _owed_drop_stale(self, before: datetime) -> None:
        """Drop the tables of runs started before ``before`` (a crashed process's)."""
        cut = before.astimezone(UTC).strftime("%Y%m%d%H%M%S")
        with self._transaction(write=False) as tx:
            names = [str(r["name"]) for r in tx.rows(self._owed_tables_sql())]
        for name in names:
            run = name[len(_PREFIX) :]
            if _RUN.match(run) and run[:14] < cut:
                self.drop_obligations(run)

    def _owed_tables_sql(self) -> str:
        if self.dialect == "postgres":
            return (
                "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() "
                f"AND tablename LIKE '{_PREFIX}%'"
            )
        return f"SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '{_PREFIX}%'"
