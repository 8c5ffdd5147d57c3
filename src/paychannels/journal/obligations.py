"""A roster's obligations staged beside the journal, so that the database does the join.

Reconciling a province (ten million obligations) cannot keep every payer in one process's
dicts. The obligations are loaded into a bare stage (``pc_rec_<run>_in``: COPY on
PostgreSQL, batched inserts on SQLite, no index), then copied once into the run's table
(``pc_rec_<run>``) joined with each obligation's payments, so that what needs no judgement
is decided in that same pass — no payment at all: unpaid; one payment, succeeded, exactly
the amount, nothing refunded, unflagged: paid — and its indexes are built after the rows
are in; the payments and refunds of the few that need judgement are staged by one join
too (``pc_rec_<run>_o``, read back a range of obligations at a time by index: a join per
range would scan every payment per range). The journal then answers set-based questions:
which lines repeat a payer and period, the open ones' payments, the payments no
obligation names, totals per group, and at the end every
obligation as a detail row from a server-side cursor. What Python judged goes into a
second stage (``pc_rec_<run>_v``, by COPY) and into the run's table by one
``UPDATE ... FROM``: only the judged rows are rewritten. The tables are plain ones (not
TEMP: the rows are read again after ``reconcile`` returns, maybe from another thread, and
staged by another process), UNLOGGED on PostgreSQL (scratch, rebuilt from the roster and
the journal: a crash loses nothing the next run does not make again), and dropped by
``drop_obligations``; tables a crashed run left are dropped after a day.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from paychannels.journal.base import LedgerRow
from paychannels.journal.sqlbase import SqlBase, Tx

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
#: the run's stages: the roster as read, the open ones' payments, the verdicts judged
_STAGES = ("_in", "_o", "_v")
_STAGED = re.compile(r"^([0-9]{14}_[0-9a-f]{8})(?:_in|_o|_v)?$")
#: memory a sort or hash of the staging statements may take before spilling to disk
_WORK_MEM = "64MB"
_BATCH = 20_000

_DDL = (
    "CREATE {unlogged}TABLE {table} (seq {bigint}{key}, line {bigint} NOT NULL, "
    "payer_id TEXT NOT NULL, name TEXT NOT NULL, township TEXT NOT NULL, "
    "village TEXT NOT NULL, period TEXT NOT NULL, reference TEXT NOT NULL, "
    "grade TEXT NOT NULL, owed_minor {bigint} NOT NULL, currency TEXT NOT NULL, "
    "category TEXT, received_minor {bigint}, channels TEXT, records TEXT, why TEXT, "
    "concern TEXT)"
)
_RAW_DDL = (
    "CREATE {unlogged}TABLE {table} (seq {bigint} NOT NULL, line {bigint} NOT NULL, "
    "payer_id TEXT NOT NULL, name TEXT NOT NULL, township TEXT NOT NULL, "
    "village TEXT NOT NULL, period TEXT NOT NULL, reference TEXT NOT NULL, "
    "grade TEXT NOT NULL, owed_minor {bigint} NOT NULL, currency TEXT NOT NULL)"
)
_VERDICT_DDL = (
    "CREATE {unlogged}TABLE {table} (seq {bigint} NOT NULL, category TEXT NOT NULL, "
    "received_minor {bigint} NOT NULL, channels TEXT NOT NULL, records TEXT NOT NULL, "
    "why TEXT NOT NULL, concern TEXT)"
)
_OPEN_DDL = (
    "CREATE {unlogged}TABLE {table} (seq {bigint} NOT NULL, part INTEGER NOT NULL, "
    "id TEXT, kind TEXT, parent_id TEXT, channel TEXT, status TEXT, payer_id TEXT, "
    "reference TEXT, currency TEXT, amount_minor {bigint}, taken_minor {bigint}, "
    "channel_ref TEXT, reason TEXT, attention TEXT, operator TEXT, created_at {ts}, "
    "updated_at {ts}, stored {stored})"
)
#: the ``LedgerRow`` columns of the open ones' stage, and where each row was stored
_OPEN_COLUMNS = (
    "id, kind, parent_id, channel, status, payer_id, reference, currency, amount_minor, "
    "taken_minor, channel_ref, reason, attention, operator, created_at, updated_at"
)
#: the columns ``decide_obligations`` takes, in this order
_VERDICT_COLUMNS = ("category", "received_minor", "channels", "records", "why", "concern", "seq")
#: each obligation's payments in one row (``n`` of them; the rest is the one payment's when
#: n = 1) and whether any was refunded: what deciding the plain ones while staging needs
_PAID = (
    "SELECT p.payer_id, p.reference, COUNT(*) AS n, MIN(p.id) AS id, "
    "MIN(p.channel) AS channel, MIN(p.status) AS status, MIN(p.attention) AS attention, "
    "MIN(p.amount_minor) AS amount, MIN(p.currency) AS currency, MIN(p.taken_minor) AS taken, "
    "MAX(CASE WHEN r.parent_id IS NULL THEN 0 ELSE 1 END) AS refunded FROM pc_payments p "
    "LEFT JOIN (SELECT DISTINCT parent_id FROM pc_payments WHERE kind = 'refund') r "
    "ON r.parent_id = p.id WHERE p.kind = 'payment' GROUP BY p.payer_id, p.reference"
)
#: 0 unpaid (no payment), 1 plainly paid, 2 left for judgement
_PLAIN = (
    "CASE WHEN a.n IS NULL THEN 0 WHEN a.n = 1 AND a.status = 'SUCCEEDED' "
    "AND a.attention IS NULL AND a.amount = s.owed_minor AND a.currency = s.currency "
    "AND (a.taken IS NULL OR a.taken = s.owed_minor) AND a.refunded = 0 THEN 1 ELSE 2 END"
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
        """Load obligations (``OBLIGATION_COLUMNS``) into the run's bare stage, unindexed;
        ``settle_plain_obligations`` makes the run's table of it. How many."""
        raw = _table(run) + _STAGES[0]
        self._owed_drop_stale(datetime.now(UTC) - timedelta(days=1))
        with self._transaction(write=True) as tx:
            tx.run(_RAW_DDL.format(table=raw, **self._owed_ddl()))
        try:
            n = self._owed_insert_all(raw, OBLIGATION_COLUMNS, rows)
        except BaseException:
            self.drop_obligations(run)
            raise
        return n

    def settle_plain_obligations(self, run: str) -> None:
        """Make the run's table from its bare stage in one pass, deciding in SQL what needs
        no judgement on the way (see the module docstring); the stage is dropped."""
        t = _table(run)
        try:
            self._owed_settle_plain(t + _STAGES[0], t)
        finally:
            with self._transaction(write=True) as tx:
                tx.run(f"DROP TABLE IF EXISTS {t}{_STAGES[0]}")

    def _owed_settle_plain(self, raw: str, table: str) -> None:
        """Copy the bare stage into the run's table in one pass, deciding unpaid and plainly
        paid on the way; its indexes after (a bulk load into an indexed table pays per row)."""
        pg = self.dialect == "postgres"
        cols = ", ".join(OBLIGATION_COLUMNS)
        picked = (
            f"SELECT {', '.join('s.' + c for c in OBLIGATION_COLUMNS)}, a.channel AS paid_by, "
            f"a.id AS paid_id, {_PLAIN} AS plain FROM {raw} s LEFT JOIN ({_PAID}) a "
            "ON a.payer_id = s.payer_id AND a.reference = s.reference"
        )
        verdict = (
            "CASE plain WHEN 0 THEN 'unpaid' WHEN 1 THEN 'paid' END, "
            "CASE plain WHEN 0 THEN 0 WHEN 1 THEN owed_minor END, "
            "CASE plain WHEN 0 THEN '' WHEN 1 THEN paid_by END, "
            "CASE plain WHEN 0 THEN '' WHEN 1 THEN paid_id END, "
            "CASE WHEN plain < 2 THEN '' END"
        )
        with self._transaction(write=True) as tx:
            if pg:  # the payments' groups hashed in memory, not sorted on disk
                tx.run(f"SET LOCAL work_mem = '{_WORK_MEM}'")
            tx.run(_DDL.format(table=table, key="" if pg else " PRIMARY KEY", **self._owed_ddl()))
            tx.run(
                f"INSERT INTO {table} ({cols}, category, received_minor, channels, records, "
                f"why) SELECT {cols}, {verdict} FROM ({picked}) x"
            )
            if pg:
                tx.run(f"ALTER TABLE {table} ADD PRIMARY KEY (seq)")
            tx.run(f"CREATE INDEX {table}_obligation ON {table} (payer_id, reference)")
            self._after_stage(tx, table)
            self._owed_stage_open(tx, table)

    def _owed_stage_open(self, tx: Tx, t: str) -> None:
        """The payments and refunds of the obligations left open, in one set-based join (a
        join per range of obligations would scan every payment once per range)."""
        o = t + "_o"
        on = f"p.payer_id = {t}.payer_id AND p.reference = {t}.reference AND p.kind = 'payment'"
        stored = "TID" if self.dialect == "postgres" else "INTEGER"
        tx.run(_OPEN_DDL.format(table=o, stored=stored, **self._owed_ddl()))
        tx.run(
            f"INSERT INTO {o} SELECT {t}.seq, 0, {self._owed_ledger('p')}, "
            f"{self._owed_stored('p')} FROM {t} JOIN pc_payments p ON {on} "
            f"WHERE {t}.category IS NULL UNION ALL SELECT {t}.seq, 1, {self._owed_ledger('r')}, "
            f"{self._owed_stored('r')} FROM {t} JOIN pc_payments p ON {on} "
            f"JOIN pc_payments r ON r.parent_id = p.id AND r.kind = 'refund' "
            f"WHERE {t}.category IS NULL"
        )
        tx.run(f"CREATE INDEX {o}_seq ON {o} (seq)")
        self._after_stage(tx, o)

    def _owed_ddl(self) -> dict[str, str]:
        """DDL placeholders of the run's tables: UNLOGGED on PostgreSQL (scratch)."""
        return {"unlogged": "UNLOGGED " if self.dialect == "postgres" else "", **self._types()}

    def _owed_insert_all(
        self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> int:
        """Stage ``rows`` in batches of ``_BATCH``, a transaction each, so the client holds
        one batch whatever the roster's size; how many."""
        n = 0
        batch: list[Sequence[Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= _BATCH:
                n += self._owed_insert(table, columns, batch)
                batch = []
        return n + self._owed_insert(table, columns, batch)

    def _owed_insert(
        self, table: str, columns: Sequence[str], batch: Sequence[Sequence[Any]]
    ) -> int:
        if batch:
            with self._transaction(write=True) as tx:
                self._stage_insert(tx, table, columns, batch)
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

    def open_obligations(
        self, run: str, first: int, last: int
    ) -> list[tuple[tuple[Any, ...], list[LedgerRow], list[LedgerRow]]]:
        """The obligations SQL left undecided with ``first <= seq <= last``, in roster
        order: (its ``OBLIGATION_COLUMNS``, its payments, their refunds), payments and
        refunds in the order they were journaled — as staged with the run's table. A range
        at a time, so that a province's open ones are never all in this process."""
        t = _table(run)
        cols = ", ".join(f"{t}.{c}" for c in OBLIGATION_COLUMNS)
        ledger = ", ".join(f"o.{c}" for c in _OPEN_COLUMNS.split(", "))
        sql = (
            f"SELECT {cols}, o.part, {ledger} FROM {t} JOIN {t}_o o ON o.seq = {t}.seq "
            f"WHERE {t}.category IS NULL AND {t}.seq BETWEEN ? AND ? "
            f"ORDER BY {t}.seq, o.part, o.created_at, o.stored"
        )
        n = len(OBLIGATION_COLUMNS)
        pages = list(self._stream(sql, (first, last), 5000))
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
        return f"{a}.created_at, {self._owed_stored(a)}"

    def _owed_stored(self, a: str) -> str:
        """Where a row of table alias ``a`` is stored (the tie-break of journaled order)."""
        return f"{a}.{'ctid' if self.dialect == 'postgres' else 'rowid'}"

    def decide_obligations(self, run: str, verdicts: Iterable[Sequence[Any]]) -> int:
        """Store what Python judged: (category, received, channels, records, why, concern,
        seq); ``concern`` is what a person must read about it, or None. The verdicts are
        staged in batches (COPY on PostgreSQL) and written by one ``UPDATE ... FROM``, so
        only the judged rows are rewritten; how many. Ends the judging: the open ones'
        payments are dropped (``open_obligations`` answers nothing after)."""
        t = _table(run)
        stage = t + "_v"
        with self._transaction(write=True) as tx:
            tx.run(f"DROP TABLE IF EXISTS {stage}")
            tx.run(_VERDICT_DDL.format(table=stage, **self._owed_ddl()))
        try:
            n = self._owed_insert_all(stage, _VERDICT_COLUMNS, verdicts)
            if n:
                with self._transaction(write=True) as tx:
                    self._after_stage(tx, stage)
                    tx.run(
                        f"UPDATE {t} SET category = v.category, received_minor = "
                        "v.received_minor, channels = v.channels, records = v.records, "
                        f"why = v.why, concern = v.concern FROM {stage} v WHERE {t}.seq = v.seq"
                    )
        finally:  # judging is over: the open ones' payments go with the verdicts' stage
            with self._transaction(write=True) as tx:
                tx.run(f"DROP TABLE IF EXISTS {stage}")
                tx.run(f"DROP TABLE IF EXISTS {t}_o")
        return n

    def obligation_totals(
        self, run: str, by: str, *, page: int = 5000
    ) -> Iterator[tuple[str, str, str, int, int, int]]:
        """Per ``by`` (township, period or village): (township or period, village, category,
        obligations, owed, received) — streamed, ``page`` groups at a time: a province has
        tens of thousands of villages, each with its categories."""
        first, second = {"township": ("township", ""), "period": ("period", "")}.get(
            by, ("township", "village")
        )
        keys = f"{first}, {second}" if second else first
        sql = (
            f"SELECT {first}, {second or repr('')}, category, COUNT(*), SUM(owed_minor), "
            f"SUM(received_minor) FROM {_table(run)} GROUP BY {keys}, category"
        )
        for rows in self._stream(sql, (), page):
            for a, b, c, n, owed, got in rows:
                yield str(a), str(b), str(c), int(n), int(owed), int(got)

    def obligation_rows(
        self, run: str, *, page: int = 5000, by_place: bool = False, category: str = ""
    ) -> Iterator[list[tuple[Any, ...]]]:
        """Every obligation (of ``category`` alone if given) in roster order (``by_place``:
        by township, then village, in code point order as Python sorts, roster order within
        one): ``OBLIGATION_COLUMNS`` less seq, then category, received, channels, records,
        why; streamed (a server-side cursor on PostgreSQL)."""
        t = _table(run)
        c = ' COLLATE "C"' if self.dialect == "postgres" else ""  # SQLite's BINARY is
        order = f"township{c}, village{c}, seq" if by_place else "seq"
        where = " WHERE category = ?" if category else ""
        yield from self._stream(
            f"SELECT {', '.join(OBLIGATION_COLUMNS[1:])}, category, received_minor, channels, "
            f"records, why FROM {t}{where} ORDER BY {order}",
            (category,) if category else (),
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

    def drop_obligations(self, run: str) -> None:
        """Drop the run's table (nothing happens if it is gone)."""
        with self._transaction(write=True) as tx:
            for suffix in ("", *_STAGES):
                tx.run(f"DROP TABLE IF EXISTS {_table(run)}{suffix}")

    def _owed_drop_stale(self, before: datetime) -> None:
        """Drop the tables of runs started before ``before`` (a crashed process's)."""
        cut = before.astimezone(UTC).strftime("%Y%m%d%H%M%S")
        with self._transaction(write=False) as tx:
            names = [str(r["name"]) for r in tx.rows(self._owed_tables_sql())]
        for name in names:
            found = _STAGED.match(name[len(_PREFIX) :])
            if found and found[1][:14] < cut:
                self.drop_obligations(found[1])

    def _owed_tables_sql(self) -> str:
        if self.dialect == "postgres":
            return (
                "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() "
                f"AND tablename LIKE '{_PREFIX}%'"
            )
        return f"SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '{_PREFIX}%'"
