"""The set-based path for creating many payments: a bank day's intents in SQL, not row by row.

``create_many`` of a few hundred requests or more stages them (COPY on PostgreSQL), then in
one transaction classifies them in SQL: a request whose idempotency key or obligation
(payer, reference) is already in the journal, or appears twice in the call, is *odd*; the
rest are *fresh*. The fresh ones are inserted with ``INSERT … SELECT`` together with their
events (the ``created`` event and the ``then`` steps, exactly as ``plan_new`` plans them:
the steps are planned once, on the first request, and are the same for every fresh one).
The odd ones then go through the row-by-row path (``SqlWrites.create_many``), which names
each idempotency conflict, open attempt and paid obligation as before. A rival process that
inserts one of the keys or obligations between the check and the insert makes the set
insert fail or fall short: the transaction rolls back and the whole chunk takes the
row-by-row path, which settles races one record at a time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from paychannels.journal.base import Applied, Change, NewRecord
from paychannels.journal.plan import REQUEST_FIELDS, Plan, dumps, plan_new, request_text
from paychannels.journal.sqlbase import Tx
from paychannels.journal.sqlwrites import SqlWrites
from paychannels.journal.text import storable_json
from paychannels.runtime.crashpoints import crashpoint
from paychannels.values.errors import PaychannelsError
from paychannels.values.models import Event, Record, trusted

__all__ = ["SET_MIN", "SqlBulkCreate"]

SET_MIN = 64  # fewer requests than this take the row-by-row path
_CHUNK = 5000  # requests per transaction
STAGE = "pc_stage_creates"
_STAGE_COLUMNS = (
    "n",
    "id",
    "idempotency_key",
    "fingerprint",
    "payer_id",
    "reference",
    "currency",
    "amount_minor",
    "request_json",
    "request_sha256",
)
_STAGE_DDL = (
    f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} ("
    "n {bigint} PRIMARY KEY, id TEXT NOT NULL, idempotency_key TEXT NOT NULL, "
    "fingerprint TEXT NOT NULL, payer_id TEXT NOT NULL, reference TEXT NOT NULL, "
    "currency TEXT NOT NULL, amount_minor {bigint} NOT NULL, request_json TEXT NOT NULL, "
    "request_sha256 TEXT NOT NULL, odd INTEGER NOT NULL DEFAULT 0)"
)
_LIVE = "('CREATED','DISPATCHED','NEEDS_ATTENTION','NOT_SENT','PENDING','SUCCEEDED','UNKNOWN')"
_CLASSIFY = (
    f"UPDATE {STAGE} SET odd = 1 WHERE idempotency_key IN "
    f"(SELECT idempotency_key FROM {STAGE} GROUP BY idempotency_key HAVING COUNT(*) > 1) "
    f"OR (payer_id, reference) IN (SELECT payer_id, reference FROM {STAGE} "
    "GROUP BY payer_id, reference HAVING COUNT(*) > 1) "
    "OR EXISTS (SELECT 1 FROM pc_payments p "
    f"WHERE p.idempotency_key = {STAGE}.idempotency_key) "
    "OR EXISTS (SELECT 1 FROM pc_payments p WHERE p.kind = 'payment' "
    f"AND p.payer_id = {STAGE}.payer_id AND p.reference = {STAGE}.reference "
    f"AND p.status IN {_LIVE})"
)
#: the row's columns a fresh request brings; every other column is the plan's constant
_PER_ROW = frozenset(_STAGE_COLUMNS) - {"n", "request_sha256"}


class _Rivals(Exception):
    """Another writer inserted one of the fresh keys meanwhile: the chunk goes row by row."""


def _recorded(value: Any) -> Any:
    """A constant column as its event records it (as ``sqlwrites`` records every column)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return storable_json(value)


class SqlBulkCreate(SqlWrites):
    """``create_many`` set-based for payments; see the module docstring."""

    def create_many(
        self, news: Sequence[NewRecord], *, now: datetime, then: Sequence[Change] = ()
    ) -> list[Applied | PaychannelsError]:
        if (
            len(news) < SET_MIN
            or any(n.kind != "payment" or n.request.payment_code is not None for n in news)
            or len({n.channel for n in news}) > 1  # the set path takes the channel as constant
        ):
            return super().create_many(news, now=now, then=then)
        results: list[Applied | PaychannelsError] = []
        for start in range(0, len(news), _CHUNK):
            results.extend(self._create_set(news[start : start + _CHUNK], now, then))
        return results

    def _create_set(
        self, news: Sequence[NewRecord], now: datetime, then: Sequence[Change]
    ) -> list[Applied | PaychannelsError]:
        """One chunk: fresh requests in SQL, then the odd ones row by row (in the caller's
        order either way)."""
        protos: dict[str, Plan] = {}
        try:
            with self._transaction(write=True) as tx:
                fresh = self._insert_fresh(tx, news, now, then, protos)
        except _Rivals:
            return super().create_many(news, now=now, then=then)
        except Exception as exc:
            if not self._is_obligation_violation(exc):
                raise
            return super().create_many(news, now=now, then=then)
        odd = [new for new in news if new.id not in fresh]
        settled = iter(super().create_many(odd, now=now, then=then) if odd else [])
        return [fresh[new.id] if new.id in fresh else next(settled) for new in news]

    def _insert_fresh(
        self,
        tx: Tx,
        news: Sequence[NewRecord],
        now: datetime,
        then: Sequence[Change],
        protos: dict[str, Plan],
    ) -> dict[str, Applied]:
        """Stage, classify, insert the fresh ones with their events; them, by record id."""
        tx.run(_STAGE_DDL.format(**self._types()))
        tx.run(f"{'TRUNCATE' if self.dialect == 'postgres' else 'DELETE FROM'} {STAGE}")
        texts = [request_text(plan_request(new)) for new in news]
        staged = [
            (
                n,
                new.id,
                new.request.idempotency_key,
                new.fingerprint,
                new.request.payer_id,
                new.request.reference,
                new.request.amount.currency.code,
                new.request.amount.minor,
                texts[n],
                hashlib.sha256(texts[n].encode("utf-8")).hexdigest(),
            )
            for n, new in enumerate(news)
        ]
        self._stage_insert(tx, STAGE, _STAGE_COLUMNS, staged)
        self._after_stage(tx, STAGE)
        tx.run(_CLASSIFY)
        crashpoint("journal.bulk_create.classified")
        fresh_n = [int(r["n"]) for r in tx.rows(f"SELECT n FROM {STAGE} WHERE odd = 0 ORDER BY n")]
        if not fresh_n:
            return {}
        by_currency: dict[str, list[int]] = {}
        for n in fresh_n:
            by_currency.setdefault(news[n].request.amount.currency.code, []).append(n)
        self._before_events(tx)  # the event-order lock before any row: as sqlwrites appends
        top = tx.one("SELECT COALESCE(MAX(seq), 0) AS top FROM pc_events")
        first_seq = int(top["top"]) if top else 0
        for code, ns in by_currency.items():
            proto = protos[code] = plan_new(news[ns[0]], now, then)
            self._insert_rows(tx, proto, code, len(ns))
        seqs: dict[str, list[int]] = {}
        for row in tx.rows(
            "SELECT seq, payment_id FROM pc_events WHERE seq > ? ORDER BY seq", (first_seq,)
        ):
            seqs.setdefault(row["payment_id"], []).append(int(row["seq"]))
        out: dict[str, Applied] = {}
        for code, ns in by_currency.items():
            proto = protos[code]
            for n in ns:
                new = news[n]
                mine = seqs.get(new.id, [])
                if len(mine) != len(proto.events):
                    raise _Rivals()
                out[new.id] = Applied(
                    _record_for(proto.record, new), _events_for(proto, new, mine), created=True
                )
        crashpoint("journal.before_commit")  # as every write path passes it
        return out

    def _insert_rows(self, tx: Tx, proto: Plan, currency: str, expected: int) -> None:
        """The fresh rows of one currency and their events, as ``proto`` planned them."""
        constants = [c for c in proto.columns if c not in _PER_ROW]
        row_columns = _STAGE_COLUMNS[1:-1]  # all but n and the digest
        names = [*row_columns, *constants]
        values = [self._db(c, proto.columns[c]) for c in constants]
        select = ", ".join([f"s.{c}" for c in row_columns] + [self._mark(v) for v in values])
        inserted = tx.run(
            f"INSERT INTO pc_payments ({', '.join(names)}) SELECT {select} FROM {STAGE} s "
            "WHERE s.odd = 0 AND s.currency = ? ORDER BY s.n "
            "ON CONFLICT DO NOTHING",  # any unique key: a rival (see sqlwrites)
            [*(v for v in values if v is not None), currency],
        )
        if inserted != expected:
            raise _Rivals()
        created, *steps = proto.events
        pairs = []
        params: list[Any] = [self._ts_in(proto.at)]
        for key in sorted(created.sets):
            if key in _PER_ROW or key == "request_sha256":
                pairs.append(f"'{key}', s.{key}")
            else:
                value = _recorded(created.sets[key])
                if isinstance(value, dict | list):
                    pairs.append(f"'{key}', {self._parsed('?')}")
                    params.append(dumps(value))
                else:
                    pairs.append(f"'{key}', {self._mark(value)}")
                    if value is not None:
                        params.append(value)
        columns_set = self._json_object(", ".join(pairs))
        params.append(currency)
        tx.run(
            "INSERT INTO pc_events (payment_id, at, type, from_status, to_status, data, "
            f"columns_set) SELECT s.id, {self._mark(params[0])}, 'created', NULL, 'CREATED', "
            "'{\"fingerprint\":\"' || s.fingerprint || '\"}', "
            f"{columns_set} FROM {STAGE} s WHERE s.odd = 0 AND s.currency = ? ORDER BY s.n",
            params,
        )
        for spec in steps:
            values = [
                self._ts_in(proto.at),
                spec.type.value,
                spec.from_status.value if spec.from_status else None,
                spec.to_status.value if spec.to_status else None,
                dumps(storable_json(spec.data)),
                dumps({k: _recorded(v) for k, v in spec.sets.items()}),
            ]
            marks = ", ".join(self._mark(v) for v in values)
            tx.run(
                "INSERT INTO pc_events (payment_id, at, type, from_status, to_status, data, "
                f"columns_set) SELECT s.id, {marks} FROM {STAGE} s "
                "WHERE s.odd = 0 AND s.currency = ? ORDER BY s.n",
                [*(v for v in values if v is not None), currency],
            )

    def _mark(self, value: Any) -> str:
        """A constant's placeholder in a SELECT list (typed for PostgreSQL, which cannot infer
        it there); None is the literal NULL and takes no parameter."""
        if value is None:
            return "NULL"
        if self.dialect != "postgres":
            return "?"
        if isinstance(value, bool | int):
            return "CAST(? AS BIGINT)"
        if isinstance(value, datetime):
            return "CAST(? AS TIMESTAMPTZ)"
        return "CAST(? AS TEXT)"

    def _parsed(self, column: str) -> str:
        """A JSON text column as a JSON value inside a built object."""
        return f"{column}::json" if self.dialect == "postgres" else f"json({column})"


def plan_request(new: NewRecord) -> dict[str, Any]:
    """The row's ``request_json`` for ``new``, as ``plan_new`` writes it."""
    return {
        name: value
        for name in REQUEST_FIELDS
        if (value := getattr(new.request, name)) is not None and value != {} and value is not False
    }


def _record_for(proto: Record, new: NewRecord) -> Record:
    """The record ``plan_new`` would make for ``new``: the prototype with the request's own."""
    req = new.request
    update: dict[str, Any] = {
        "id": new.id,
        "payer_id": req.payer_id,
        "reference": req.reference,
        "amount": req.amount,
        "idempotency_key": req.idempotency_key,
        **{name: getattr(req, name) for name in REQUEST_FIELDS},
    }
    return proto.model_copy(update=update)


def _events_for(proto: Plan, new: NewRecord, seqs: list[int]) -> tuple[Event, ...]:
    """The events as written for ``new``, in order (the created one names its fingerprint)."""
    out = []
    for i, (spec, seq) in enumerate(zip(proto.events, seqs, strict=True)):
        data = {"fingerprint": new.fingerprint} if i == 0 else spec.data
        out.append(
            trusted(
                Event,
                {
                    "seq": seq,
                    "payment_id": new.id,
                    "channel": new.channel,
                    "at": proto.at,
                    "type": spec.type,
                    "from_status": spec.from_status,
                    "to_status": spec.to_status,
                    "data": data,
                },
            )
        )
    return tuple(out)
