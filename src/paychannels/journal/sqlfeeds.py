"""The feed book in SQL: which money movements each department's feed carried.

Recording a feed reads the movements no feed has carried (one read snapshot, no write lock:
payments go on meanwhile), lets the caller pick its own, then — in one write transaction
under the feed lock — checks that no feed was recorded since the read (else reads again
under the lock), and inserts the feed and its lines. The primary key (record, line) of
``pc_feed_lines`` is the last word: a movement can never be recorded in two feeds.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from paychannels.journal.feedbook import (
    FeedCandidate,
    FeedEntry,
    FeedHeader,
    FeedNotRecorded,
    FeedOutOfOrder,
    Pick,
)
from paychannels.journal.sqlbase import SqlBase, Tx

__all__ = ["SqlFeeds"]

_CHUNK = 5_000
_LINE_COLUMNS = (
    "record_id, line, feed_id, n, payment_id, at, payer_id, period, grade, amount_minor, "
    "currency, channel, settlement_ref, corrects"
)
_HEADER_COLUMNS = (
    "feed_id, insurance, day, cutoff, made_at, lines, total_minor, currency, file_format, "
    "checksum, written_at"
)
# Every movement before the cut-off no feed has carried, in time order. A payment's charge
# and reversal are its own events; a refund is its own record (its parent names the
# obligation). The state machine reaches SUCCEEDED and REVERSED once per record.
_CANDIDATE_COLUMNS = (
    "record_id",
    "line",
    "payment_id",
    "at",
    "payer_id",
    "currency",
    "amount_minor",
    "channel",
    "channel_ref",
    "reference",
    "insurance",
    "period",
    "grade",
    "corrects",
)
# {ins}, {period}, {grade}: the request's fields, as the dialect reads JSON (of ``p``, the
# payment: a refund's obligation is its payment's)
_CANDIDATES = """
SELECT p.id AS record_id, 'paid' AS line, p.id AS payment_id, e.at AS at,
       p.payer_id AS payer_id, p.currency AS currency,
       COALESCE(p.taken_minor, p.amount_minor) AS amount_minor, p.channel AS channel,
       p.channel_ref AS channel_ref, p.reference AS reference,
       {ins} AS insurance, {period} AS period, {grade} AS grade, NULL AS corrects,
       e.seq AS seq
  FROM pc_payments p JOIN pc_events e ON e.payment_id = p.id AND e.to_status = 'SUCCEEDED'
 WHERE p.kind = 'payment' AND p.status IN ('SUCCEEDED', 'REVERSED') AND e.at < ?
   AND NOT EXISTS (SELECT 1 FROM pc_feed_lines f WHERE f.record_id = p.id AND f.line = 'paid')
UNION ALL
SELECT p.id, 'reversal', p.id, e.at, p.payer_id, p.currency,
       COALESCE(p.taken_minor, p.amount_minor), p.channel, p.channel_ref, p.reference,
       {ins}, {period}, {grade},
       (SELECT f.feed_id FROM pc_feed_lines f WHERE f.record_id = p.id AND f.line = 'paid'),
       e.seq
  FROM pc_payments p JOIN pc_events e ON e.payment_id = p.id AND e.to_status = 'REVERSED'
 WHERE p.kind = 'payment' AND p.status = 'REVERSED' AND e.at < ?
   AND EXISTS (SELECT 1 FROM pc_events s WHERE s.payment_id = p.id
               AND s.to_status = 'SUCCEEDED')
   AND NOT EXISTS (SELECT 1 FROM pc_feed_lines f
                   WHERE f.record_id = p.id AND f.line = 'reversal')
UNION ALL
SELECT r.id, 'refund', r.parent_id, e.at, r.payer_id, r.currency,
       COALESCE(r.taken_minor, r.amount_minor), r.channel, r.channel_ref, p.reference,
       {ins}, {period}, {grade},
       (SELECT f.feed_id FROM pc_feed_lines f WHERE f.record_id = p.id AND f.line = 'paid'),
       e.seq
  FROM pc_payments r JOIN pc_payments p ON p.id = r.parent_id
  JOIN pc_events e ON e.payment_id = r.id AND e.to_status = 'SUCCEEDED'
 WHERE r.kind = 'refund' AND r.status IN ('SUCCEEDED', 'REVERSED') AND e.at < ?
   AND NOT EXISTS (SELECT 1 FROM pc_feed_lines f WHERE f.record_id = r.id AND f.line = 'refund')
"""


class SqlFeeds(SqlBase):
    """``record_feed``, ``feed_entries``, ``feed_written`` and ``feeds`` for SQL journals."""

    def _before_feeds(self, tx: Tx) -> None:
        """Called first in a feed-recording transaction (PostgreSQL takes a lock; SQLite's
        ``BEGIN IMMEDIATE`` already excludes every other writer)."""

    def record_feed(
        self,
        feed_id: str,
        *,
        insurance: str,
        day: str,
        cutoff: datetime,
        made_at: datetime,
        currency: str,
        pick: Pick,
    ) -> FeedHeader:
        with self._transaction(write=False) as tx:
            existing = self._header(tx, feed_id)
        if existing is not None:  # recorded before: nothing to read
            return existing
        generation, picked = self._pick_outside(cutoff, pick)
        with self._transaction(write=True) as tx:
            self._before_feeds(tx)
            existing = self._header(tx, feed_id)
            if existing is not None:  # another process recorded it meanwhile
                return existing
            self._refuse_earlier(tx, insurance, day)
            if self._generation(tx) != generation:
                # another feed was recorded since the read: read again, under the lock
                sql = f"SELECT * FROM ({self._candidates_sql()}) c ORDER BY c.seq"
                rows = tx.rows(sql, self._cut(cutoff))
                picked = pick(self._candidates([r[k] for k in _CANDIDATE_COLUMNS] for r in rows))
            total = sum(e.amount_minor for e in picked)
            header = FeedHeader(
                feed_id, insurance, day, cutoff, made_at, len(picked), total, currency
            )
            self._insert(tx, header, picked)
            return replace(header, created=True)

    def _pick_outside(self, cutoff: datetime, pick: Pick) -> tuple[int, list[FeedEntry]]:
        """The entries picked from one read snapshot, and the feed count it saw."""
        seen: list[int] = []

        def rows() -> Iterator[tuple[Any, ...]]:
            sql = (
                f"SELECT (SELECT COUNT(*) FROM pc_feeds), {', '.join(_CANDIDATE_COLUMNS)} "
                f"FROM ({self._candidates_sql()}) c ORDER BY c.seq"
            )
            for page in self._stream(sql, self._cut(cutoff), 5000):
                for row in page:
                    if not seen:
                        seen.append(int(row[0]))
                    yield row[1:]

        picked = pick(self._candidates(rows()))
        if not seen:  # no candidate at all: the count the read saw is not known; ask
            with self._transaction(write=False) as tx:
                seen.append(self._generation(tx))
            picked = []
        return seen[0], picked

    def _candidates_sql(self) -> str:
        field = self._json_text
        return _CANDIDATES.format(
            ins=field("p.request_json", "metadata.insurance_type"),
            period=field("p.request_json", "period"),
            grade=field("p.request_json", "metadata.grade"),
        )

    def _cut(self, cutoff: datetime) -> tuple[Any, ...]:
        stamp = self._ts_in(cutoff)
        return (stamp, stamp, stamp)

    def _candidates(self, rows: Iterable[Sequence[Any]]) -> Iterator[FeedCandidate]:
        ts_out = self._ts_out
        for values in rows:
            yield FeedCandidate(
                values[0],
                values[1],
                values[2],
                ts_out(values[3]),
                values[4],
                values[5],
                int(values[6]),
                values[7],
                values[8],
                values[9],
                values[10],
                values[11],
                values[12],
                values[13],
            )

    def _generation(self, tx: Tx) -> int:
        row = tx.one("SELECT COUNT(*) AS n FROM pc_feeds")
        return int(row["n"]) if row else 0

    def _refuse_earlier(self, tx: Tx, insurance: str, day: str) -> None:
        row = tx.one("SELECT MAX(day) AS last FROM pc_feeds WHERE insurance = ?", (insurance,))
        last = row["last"] if row else None
        if last is not None and last > day:
            raise FeedOutOfOrder(
                f"the {insurance} feed of {last} is already recorded; a feed for {day} would "
                "come after it (each movement is fed once, in the first feed made after it)"
            )

    def _insert(self, tx: Tx, header: FeedHeader, picked: Sequence[FeedEntry]) -> None:
        tx.run(
            f"INSERT INTO pc_feeds ({_HEADER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                header.feed_id,
                header.insurance,
                header.day,
                self._ts_in(header.cutoff),
                self._ts_in(header.made_at),
                header.lines,
                header.total_minor,
                header.currency,
                None,
                None,
                None,
            ),
        )
        marks = ", ".join("?" for _ in range(14))
        sql = f"INSERT INTO pc_feed_lines ({_LINE_COLUMNS}) VALUES ({marks})"
        for start in range(0, len(picked), _CHUNK):
            chunk = picked[start : start + _CHUNK]
            tx.many(
                sql,
                [
                    (
                        e.record_id,
                        e.line,
                        header.feed_id,
                        start + i,
                        e.payment_id,
                        self._ts_in(e.at),
                        e.payer_id,
                        e.period,
                        e.grade,
                        e.amount_minor,
                        e.currency,
                        e.channel,
                        e.settlement_ref,
                        e.corrects,
                    )
                    for i, e in enumerate(chunk, 1)
                ],
            )

    def _header(self, tx: Tx, feed_id: str) -> FeedHeader | None:
        row = tx.one(f"SELECT {_HEADER_COLUMNS} FROM pc_feeds WHERE feed_id = ?", (feed_id,))
        return None if row is None else self._header_of(row)

    def _header_of(self, row: Any) -> FeedHeader:
        written = row["written_at"]
        return FeedHeader(
            row["feed_id"],
            row["insurance"],
            row["day"],
            self._ts_out(row["cutoff"]),
            self._ts_out(row["made_at"]),
            int(row["lines"]),
            int(row["total_minor"]),
            row["currency"],
            row["file_format"],
            row["checksum"],
            None if written is None else self._ts_out(written),
        )

    def feed_entries(self, feed_id: str, *, page: int = 5000) -> Iterator[list[FeedEntry]]:
        ts_out = self._ts_out
        sql = (
            "SELECT record_id, line, payment_id, at, payer_id, period, grade, amount_minor, "
            "currency, channel, settlement_ref, corrects FROM pc_feed_lines "
            "WHERE feed_id = ? ORDER BY n"
        )
        for rows in self._stream(sql, (feed_id,), page):
            yield [
                FeedEntry(
                    r[0],
                    r[1],
                    r[2],
                    ts_out(r[3]),
                    r[4],
                    r[5],
                    r[6],
                    int(r[7]),
                    r[8],
                    r[9],
                    r[10],
                    r[11],
                )
                for r in rows
            ]

    def feed_written(
        self, feed_id: str, *, file_format: str, checksum: str, now: datetime
    ) -> FeedHeader:
        with self._transaction(write=True) as tx:
            tx.run(
                "UPDATE pc_feeds SET file_format = ?, checksum = ?, written_at = ? "
                "WHERE feed_id = ? AND checksum IS NULL",
                (file_format, checksum, self._ts_in(now), feed_id),
            )
            header = self._header(tx, feed_id)
        if header is None:
            raise FeedNotRecorded(f"no feed {feed_id!r} is recorded")
        return header

    def feeds(self, *, insurance: str | None = None) -> list[FeedHeader]:
        with self._transaction(write=False) as tx:
            where, params = ("WHERE insurance = ?", (insurance,)) if insurance else ("", ())
            rows = tx.rows(
                f"SELECT {_HEADER_COLUMNS} FROM pc_feeds {where} ORDER BY day, feed_id", params
            )
            return [self._header_of(r) for r in rows]
