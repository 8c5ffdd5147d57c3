"""The set-based path for bulk reports: a result file's rows applied in SQL, not row by row.

Rows are staged into a temporary table first (all of them, so a report that fails while
being read changes nothing; on SQLite in a scratch file on disk, not in memory, so a file of
millions stays small). Then, chunk by chunk, one transaction each: the staged rows are
classified against the payments with the state machine's guard written in SQL — a forward
move ``resolve`` would make with a single step (``move``), a plain repeat (``same``), or
anything else (``odd``: another channel, amount or currency mismatch, a
payment named twice, a row with a problem, a row about another dispatch attempt, an odd
transition) — the events of the moves are
appended with ``INSERT … SELECT`` and the payments updated with ``UPDATE … FROM``. The odd
rows go back to the Collector, which runs them through the Python policy; rows naming no
payment of this journal are counted here (one anti-join before anything is written tells
the caller how many, so a report the journal cannot be about is refused before any work).
A move here writes exactly the columns and the event ``plan(resolve(...))`` would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from paychannels.journal.base import BulkApplied
from paychannels.journal.plan import dumps
from paychannels.journal.sqlbase import SqlBase, Tx
from paychannels.values.reasons import Reason
from paychannels.values.results import ResultRow
from paychannels.values.status import TRANSITIONS, Status, reportable_by_channel

__all__ = ["STAGE_COLUMNS", "SqlBulk"]

STAGE = "pc_stage_results"
STAGE_COLUMNS = (
    "n",
    "payment_id",
    "status",
    "taken_minor",
    "amount_minor",
    "currency",
    "reason",
    "reason_detail",
    "channel_ref",
    "message",
    "problem",
    "attempt",
    "line",
    "txt",
)
TEXTS = "pc_stage_texts"  # the event texts rows share, once each, keyed by ``txt``
CHUNK = 50_000  # staged rows per apply transaction
_STAGE_BATCH = 5_000  # rows per staging insert
_FORWARD = ", ".join(
    f"'{current.value}>{target.value}'"
    for current, targets in sorted(TRANSITIONS.items())
    for target in sorted(targets)
    if reportable_by_channel(target)
)

# ``{temp}``/``{spill}``: where a stage of a whole report lives (``SqlBase._spill``)
STAGE_DDL = (
    f"CREATE {{temp}} TABLE IF NOT EXISTS {{spill}}{STAGE} ("
    "n {bigint} PRIMARY KEY, payment_id TEXT NOT NULL, status TEXT NOT NULL, "
    "taken_minor {bigint}, amount_minor {bigint}, currency TEXT, reason TEXT, "
    "reason_detail TEXT, channel_ref TEXT, message TEXT, problem TEXT, attempt {bigint}, "
    "line {bigint}, "
    "txt {bigint} NOT NULL, "
    "dup INTEGER NOT NULL DEFAULT 0, verdict TEXT, from_status TEXT, p_amount {bigint})"
)
# a spilled stage finds a payment's rows by index: grouping them by sorting would sort in
# memory (SQLite's sorter spills to TEMP files, which live in memory there)
STAGE_INDEX = f"CREATE INDEX IF NOT EXISTS {{spill}}{STAGE}_payment ON {STAGE} (payment_id)"
TEXTS_DDL = (
    f"CREATE {{temp}} TABLE IF NOT EXISTS {{spill}}{TEXTS} "
    "(k {bigint} PRIMARY KEY, ev_rest TEXT NOT NULL, cs_mid TEXT NOT NULL)"
)

_CLASSIFY = f"""UPDATE {STAGE} SET from_status = p.status, p_amount = p.amount_minor,
    verdict = CASE
        WHEN p.kind <> 'payment' OR p.channel <> ? THEN 'odd'
        WHEN {STAGE}.problem IS NOT NULL OR {STAGE}.dup = 1 THEN 'odd'
        WHEN {STAGE}.attempt IS NOT NULL AND {STAGE}.attempt <> p.attempt THEN 'odd'
        WHEN {STAGE}.amount_minor IS NOT NULL AND {STAGE}.amount_minor <> p.amount_minor
            THEN 'odd'
        WHEN {STAGE}.currency IS NOT NULL AND {STAGE}.currency <> p.currency THEN 'odd'
        WHEN (p.status || '>' || {STAGE}.status) IN ({_FORWARD}) THEN 'move'
        WHEN p.status = {STAGE}.status AND p.status <> 'UNKNOWN'
            AND ({STAGE}.status <> 'SUCCEEDED' OR {STAGE}.taken_minor IS NULL
                 OR {STAGE}.taken_minor = p.taken_minor) THEN 'same'
        ELSE 'odd' END
    FROM pc_payments p
    WHERE p.id = {STAGE}.payment_id AND {STAGE}.n BETWEEN ? AND ?"""

_EVENTS = f"""INSERT INTO pc_events
        (payment_id, at, type, from_status, to_status, data, columns_set)
    SELECT s.payment_id, ?, 'status', s.from_status, s.status,
        CASE WHEN s.status = 'SUCCEEDED'
            THEN '{{"amount_taken_minor":' || CAST(COALESCE(s.taken_minor, s.p_amount) AS TEXT)
                 || ',' || t.ev_rest
            ELSE '{{' || t.ev_rest END,
        '{{' || CASE WHEN p.status = 'NEEDS_ATTENTION' THEN '"attention":null,' ELSE '' END
            || t.cs_mid
            || CASE WHEN s.status = 'SUCCEEDED' THEN ',"taken_minor":'
                || CAST(COALESCE(s.taken_minor, p.amount_minor) AS TEXT) ELSE '' END
            || ',"updated_at":' || ? || '}}'
    FROM {STAGE} s JOIN pc_payments p ON p.id = s.payment_id JOIN {TEXTS} t ON t.k = s.txt
    WHERE s.verdict = 'move' AND s.n BETWEEN ? AND ? ORDER BY s.n"""

# An event's ``columns_set`` is the text plan() writes: the columns this move sets, keys
# sorted, canonical JSON. The row's own part (``cs_mid``: channel_ref if given, the claim
# released, reason, reason_detail, status) is encoded in Python; SQL adds what depends on the
# payment (attention cleared, the amount taken) and the time.


_UPDATE = f"""UPDATE pc_payments SET status = s.status,
        taken_minor = CASE WHEN s.status = 'SUCCEEDED'
            THEN COALESCE(s.taken_minor, pc_payments.amount_minor)
            ELSE pc_payments.taken_minor END,
        reason = s.reason, reason_detail = s.reason_detail,
        attention = CASE WHEN pc_payments.status = 'NEEDS_ATTENTION' THEN NULL
            ELSE pc_payments.attention END,
        claimed_by = NULL, lease_until = NULL, updated_at = ?,
        version = pc_payments.version + 1
    FROM {STAGE} s
    WHERE pc_payments.id = s.payment_id AND s.verdict = 'move' AND s.n BETWEEN ? AND ?"""

# apart, so rows without a reference (most) do not rewrite the channel_ref index
_REFS = f"""UPDATE pc_payments SET channel_ref = s.channel_ref FROM {STAGE} s
    WHERE pc_payments.id = s.payment_id AND s.verdict = 'move' AND s.channel_ref IS NOT NULL
    AND s.n BETWEEN ? AND ?"""

_LOCK_PG = f"""SELECT COUNT(*) AS n FROM (SELECT p.id FROM pc_payments p
    JOIN {STAGE} s ON p.id = s.payment_id WHERE s.n BETWEEN ? AND ?
    ORDER BY p.id FOR UPDATE OF p) AS locked"""


def _event_rest(row: ResultRow, via: str) -> str:
    """The event's JSON without its opening brace (and without ``amount_taken_minor``)."""
    data: dict[str, Any] = {"via": via}
    if row.message:
        data["message"] = row.message
    if row.reason is not None:
        data["reason"] = row.reason.value
    if row.reason_detail is not None:
        data["reason_detail"] = row.reason_detail
    if row.attempt is not None:
        data["attempt"] = row.attempt
    return dumps(data)[1:]


def _columns_mid(row: ResultRow) -> str:
    """The row's part of its event's ``columns_set``, between ``attention`` and
    ``taken_minor`` in key order, without braces."""
    sets: dict[str, Any] = {}
    if row.channel_ref is not None:
        sets["channel_ref"] = row.channel_ref
    sets["claimed_by"] = sets["lease_until"] = None
    sets["reason"] = None if row.reason is None else row.reason.value
    sets["reason_detail"] = row.reason_detail
    sets["status"] = row.status.value
    return dumps(sets)[1:-1]


def _staged(n: int, row: ResultRow, txt: int) -> tuple[Any, ...]:
    return (
        n,
        row.payment_id,
        row.status.value,
        row.taken_minor,
        row.amount_minor,
        row.currency,
        None if row.reason is None else row.reason.value,
        row.reason_detail,
        row.channel_ref,
        row.message,
        row.problem,
        row.attempt,
        row.line,
        txt,
    )


def _leftover(row: Any) -> ResultRow:
    return ResultRow(
        payment_id=row["payment_id"],
        status=Status(row["status"]),
        taken_minor=row["taken_minor"],
        amount_minor=row["amount_minor"],
        currency=row["currency"],
        reason=Reason(row["reason"]) if row["reason"] else None,
        reason_detail=row["reason_detail"],
        channel_ref=row["channel_ref"],
        message=row["message"],
        problem=row["problem"],
        attempt=None if row["attempt"] is None else int(row["attempt"]),
        line=None if row["line"] is None else int(row["line"]),
    )


class SqlBulk(SqlBase):
    """The SQL journal's set-based path for bulk reports (``Journal.apply_results``)."""

    def apply_results(
        self,
        rows: Iterable[ResultRow],
        *,
        channel: str,
        via: str,
        now: datetime,
        unknown: Callable[[int, list[ResultRow]], None] | None = None,
    ) -> Iterator[BulkApplied]:
        """``Journal.apply_results`` in SQL; see the module docstring."""
        total = self._stage(rows, via, unknown)
        stamp = self._ts_in(now)
        updated = dumps(now.astimezone(UTC).isoformat())
        try:
            if unknown is not None:
                self._check_unknown(unknown)
            for lo in range(1, total + 1, CHUNK):
                hi = min(lo + CHUNK - 1, total)
                with self._transaction(write=True) as tx:
                    done = self._chunk(tx, lo, hi, channel, stamp, updated)
                yield done
        finally:  # dropped, not emptied: freeing the table's pages costs no per-row work
            self._unspill((STAGE, TEXTS))

    def _stage(
        self,
        rows: Iterable[ResultRow],
        via: str,
        unknown: Callable[[int, list[ResultRow]], None] | None = None,
    ) -> int:
        """Stage every row (consuming ``rows``); returns how many. The first staged batch is
        a sample checked for unknown payments at once: a file that is not about this
        journal is refused after a few thousand rows, not after reading all of them. The
        stage holds the whole report, so it lives where the dialect spills (``_spill``)."""
        where = {**self._types(), **self._spill()}
        with self._transaction(write=False) as tx:
            tx.run(STAGE_DDL.format(**where))
            if where["spill"]:
                tx.run(STAGE_INDEX.format(**where))
            tx.run(TEXTS_DDL.format(**where))
            tx.run(f"DELETE FROM {STAGE}")
            tx.run(f"DELETE FROM {TEXTS}")
        n = 0
        batch: list[tuple[Any, ...]] = []
        # rows share their event texts: each distinct one is staged once, rows name it by key
        # (a bounded cache: once full it starts again, a text staged twice costs nothing)
        keys: dict[tuple[Any, ...], int] = {}
        texts: list[tuple[int, str, str]] = []
        for row in rows:
            n += 1
            key = (row.message, row.reason, row.reason_detail, row.attempt, row.channel_ref)
            txt = keys.get((*key, row.status))
            if txt is None:
                if len(keys) >= 10_000:
                    keys.clear()
                txt = keys[(*key, row.status)] = n
                texts.append((n, _event_rest(row, via), _columns_mid(row)))
            batch.append(_staged(n, row, txt))
            if len(batch) >= _STAGE_BATCH:
                with self._transaction(write=False) as tx:
                    if texts:
                        self._stage_insert(tx, TEXTS, ("k", "ev_rest", "cs_mid"), texts)
                    self._stage_insert(tx, STAGE, STAGE_COLUMNS, batch)
                batch, texts = [], []
                if unknown is not None and n == _STAGE_BATCH:
                    self._check_unknown(unknown)
        with self._transaction(write=False) as tx:
            if texts:
                self._stage_insert(tx, TEXTS, ("k", "ev_rest", "cs_mid"), texts)
            if batch:
                self._stage_insert(tx, STAGE, STAGE_COLUMNS, batch)
            tx.run(
                f"UPDATE {STAGE} SET dup = 1 WHERE payment_id IN "
                f"(SELECT payment_id FROM {STAGE} GROUP BY payment_id HAVING COUNT(*) > 1)"
            )
            self._after_stage(tx, STAGE)
        return n

    def _check_unknown(self, unknown: Callable[[int, list[ResultRow]], None]) -> None:
        """One anti-join over the staged rows: how many name no payment of this journal."""
        missing = (
            f"FROM {STAGE} s WHERE NOT EXISTS "
            "(SELECT 1 FROM pc_payments p WHERE p.id = s.payment_id)"
        )
        with self._transaction(write=False) as tx:
            found = tx.one(f"SELECT COUNT(*) AS k {missing}")
            count = int(found["k"]) if found else 0
            sample = (
                [_leftover(r) for r in tx.rows(f"SELECT s.* {missing} ORDER BY s.n LIMIT 3")]
                if count
                else []
            )
        if count:
            unknown(count, sample)

    def _chunk(self, tx: Tx, lo: int, hi: int, channel: str, now: Any, updated: str) -> BulkApplied:
        if self.dialect == "postgres":
            tx.one(_LOCK_PG, (lo, hi))  # row locks in id order, as modify_many takes them
        tx.run(_CLASSIFY, (channel, lo, hi))
        seqs: tuple[int, int] | None = None
        moved: dict[Status, int] = {}
        taken = 0
        for row in tx.rows(
            f"SELECT status, COUNT(*) AS k, SUM(CASE WHEN status = 'SUCCEEDED' "
            f"THEN COALESCE(taken_minor, p_amount) ELSE 0 END) AS taken FROM {STAGE} "
            "WHERE verdict = 'move' AND n BETWEEN ? AND ? GROUP BY status",
            (lo, hi),
        ):
            moved[Status(row["status"])] = int(row["k"])
            taken += int(row["taken"] or 0)
        if moved:
            self._before_events(tx)
            top = tx.one("SELECT COALESCE(MAX(seq), 0) AS top FROM pc_events")
            tx.run(_EVENTS, (now, updated, lo, hi))
            # the numbers given, read back: a sequence may skip (a rolled-back append on
            # PostgreSQL); under the event-order lock every seq above ``top`` is ours
            got = tx.one(
                "SELECT MIN(seq) AS lo, MAX(seq) AS hi FROM pc_events WHERE seq > ?",
                (int(top["top"]) if top else 0,),
            )
            if got and got["lo"] is not None:
                seqs = (int(got["lo"]), int(got["hi"]))
            tx.run(_UPDATE, (now, lo, hi))
            tx.run(_REFS, (lo, hi))
        counts = tx.one(
            f"SELECT SUM(CASE WHEN verdict = 'same' THEN 1 ELSE 0 END) AS same, "
            f"SUM(CASE WHEN verdict IS NULL THEN 1 ELSE 0 END) AS unmatched FROM {STAGE} "
            "WHERE n BETWEEN ? AND ?",
            (lo, hi),
        )
        odd = tx.rows(
            f"SELECT * FROM {STAGE} WHERE verdict = 'odd' AND n BETWEEN ? AND ? ORDER BY n",
            (lo, hi),
        )
        same = int(counts["same"] or 0) if counts else 0
        unmatched = int(counts["unmatched"] or 0) if counts else 0
        return BulkApplied(moved, same, taken, [_leftover(r) for r in odd], seqs, unmatched)
