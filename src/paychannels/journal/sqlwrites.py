"""The SQL journal's writes: creating records (idempotent, the obligation rule), applying
planned changes under row locks, appending events — single and in bulk."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from paychannels.journal.base import (
    Applied,
    Change,
    Decide,
    NewRecord,
    StateWrite,
)
from paychannels.journal.plan import TIMESTAMP_COLUMNS, EventSpec, Plan, dumps, plan, plan_new
from paychannels.journal.sqlbase import Row, SqlBase, Tx
from paychannels.journal.text import storable, storable_json
from paychannels.runtime.crashpoints import crashpoint
from paychannels.security.masking import mask_payer_id
from paychannels.values.errors import (
    AlreadyInDoubt,
    AlreadyPaid,
    IdempotencyConflict,
    IllegalTransition,
    InvalidRequest,
    JournalError,
    PaychannelsError,
    PaymentNotFound,
)
from paychannels.values.models import Event, Record, trusted
from paychannels.values.status import OPEN_STATUSES, Status

__all__ = ["SqlWrites"]

_LIVE_SQL = "(" + ",".join(f"'{s.value}'" for s in sorted(OPEN_STATUSES | {Status.SUCCEEDED})) + ")"
_LIVE = frozenset(s.value for s in OPEN_STATUSES | {Status.SUCCEEDED})
_RETRIES = 5  # single-record retries after a rival process's insert won a unique index
_CHUNK = 2000  # records per transaction in the bulk paths
T = TypeVar("T")
_IN_LIMIT = 500  # values per IN (...) list
_FEW = 8  # up to this many events are appended one by one


def _one(tx: Tx, sql: str, params: Sequence[Any]) -> Row:
    row = tx.one(sql, params)
    assert row is not None
    return row


#: columns that name things (looked up as given): refused upstream when malformed, never escaped
_IDENTITY = frozenset(
    {"id", "idempotency_key", "payer_id", "reference", "parent_id", "channel", "fingerprint"}
)


class _Raced(Exception):
    """An insert met a key another process committed after our check: retry one by one."""


@dataclass(slots=True)
class _Obligation:
    """What already counts against one (payer, reference): an open attempt, payments that
    paid it (and are not fully refunded), and the highest occurrence among them."""

    open: tuple[str, Status] | None = None
    paid: str | None = None
    top: int = 0


def _json_value(value: Any) -> Any:
    """A column value as ``columns_set`` records it (timestamps as ISO 8601 in UTC)."""
    return value.astimezone(UTC).isoformat() if isinstance(value, datetime) else value


def _stored_json(value: Any) -> str:
    """``dumps(storable_json(value))`` without walking ``value`` twice when nothing in it
    needs ``storable`` (nearly always): a NUL in any text shows in the JSON as ``\\u0000``,
    an unencodable character makes the JSON unencodable; keys are text (``JsonValue``)."""
    text = dumps(value)
    if "\\u0000" not in text and (text.isascii() or _encodable(text)):
        return text
    return dumps(storable_json(value))


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _columns_set(sets: dict[str, Any]) -> str:
    """An event's ``columns_set``: what each column now stores (``_recorded``), as JSON."""
    if not sets:
        return "{}"  # a note (a progress text: three a terminal payment) sets no column
    plain = {
        k: v.astimezone(UTC).isoformat() if isinstance(v, datetime) else v for k, v in sets.items()
    }  # ``_json_value`` inlined: an event sets some ten columns
    text = dumps(plain)
    if "\\u0000" not in text and (text.isascii() or _encodable(text)):
        return text  # no text needed ``storable``: the same JSON as the slow path's
    return dumps({k: _recorded(k, v) for k, v in sets.items()})


#: what ``bulkmodify`` writes for alike plans must be these very texts
stored_json, columns_set = _stored_json, _columns_set


def _recorded(column: str, value: Any) -> Any:
    """A column's new value as its event records it: what the row stores (``_db``), so that
    ``journal verify`` replays to the very value written."""
    value = _json_value(value)
    return value if column in _IDENTITY else storable_json(value)


def _in_doubt(new: NewRecord, blocking_id: str, status: Status) -> AlreadyInDoubt:
    return AlreadyInDoubt(
        f"payer {mask_payer_id(new.request.payer_id)} already has attempt {blocking_id} for "
        f"{new.request.reference!r} in status {status}; resolve it (status, recover or "
        "cancel) before a second attempt",
        blocking_id,
    )


def _check_queries(payers: Sequence[str], keys: Sequence[str]) -> list[tuple[str, Sequence[Any]]]:
    """The reads of a new record's checks: the live (open or paid) payments of ``payers``
    with what each took and what was refunded of it, and the records ``keys`` already made.

    Up to ``_IN_LIMIT`` of each, one statement: one snapshot sees both. More, the payers'
    parts first, then the keys': PostgreSQL reads each statement at a new snapshot, so a
    rival the obligation check saw is seen by the key lookup too (its record comes back) —
    never "in doubt" about ourselves."""
    if len(payers) <= _IN_LIMIT and len(keys) <= _IN_LIMIT:
        return [_check_query(payers, keys)]
    return [
        *(_check_query(payers[i : i + _IN_LIMIT], ()) for i in range(0, len(payers), _IN_LIMIT)),
        *(_check_query((), keys[i : i + _IN_LIMIT]) for i in range(0, len(keys), _IN_LIMIT)),
    ]


def _check_query(payers: Sequence[str], keys: Sequence[str]) -> tuple[str, Sequence[Any]]:
    """One read of ``_check_queries``: rows of live payments of ``payers`` OR of ``keys``."""
    terms = []
    if payers:
        marks = ", ".join("?" for _ in payers)
        terms.append(
            f"(p.kind = 'payment' AND p.status IN {_LIVE_SQL} AND p.payer_id IN ({marks}))"
        )
    if keys:
        terms.append(f"p.idempotency_key IN ({', '.join('?' for _ in keys)})")
    return (
        "SELECT p.*, COALESCE(p.taken_minor, p.amount_minor) AS taken, "
        "(SELECT COALESCE(SUM(COALESCE(r.taken_minor, r.amount_minor)), 0) "
        "FROM pc_payments r WHERE r.parent_id = p.id AND r.kind = 'refund' "
        "AND r.status = 'SUCCEEDED') AS refunded "
        f"FROM pc_payments p WHERE {' OR '.join(terms)}",
        [*payers, *keys],
    )


def _obligations(rows: Sequence[Row]) -> dict[tuple[str, str], _Obligation]:
    """What counts against each obligation, from the live payments' rows in id order."""
    found: dict[tuple[str, str], _Obligation] = {}
    for row in rows:
        ob = found.setdefault((row["payer_id"], row["reference"]), _Obligation())
        ob.top = max(ob.top, int(row["occurrence"]))
        status = Status(row["status"])
        if status is not Status.SUCCEEDED:
            ob.open = (row["id"], status)
        elif int(row["refunded"]) < int(row["taken"]) and ob.paid is None:
            ob.paid = row["id"]  # the first that still holds the payer's money
    return found


def _obligation_key(new: NewRecord) -> tuple[str, str]:
    return (new.request.payer_id, new.request.reference)


def _next_occurrence(new: NewRecord, ob: _Obligation | None) -> int:
    """The occurrence a new payment takes, or the refusal: one open attempt at a time, and
    a paid obligation only again when the request says ``pay_again``."""
    if ob is None:
        return 1
    if ob.open is not None:
        raise _in_doubt(new, *ob.open)
    if ob.paid is not None and not new.request.pay_again:
        raise AlreadyPaid(
            f"{new.request.reference!r} is already paid for this payer by {ob.paid}; a new "
            "idempotency key does not make a second payment — pass pay_again=True to take "
            "it once more on purpose, or refund/reverse the first",
            ob.paid,
        )
    return ob.top + 1


@dataclass(slots=True)
class _Chunk:
    """Records created in one transaction: each item refused (its error), found (the record
    its key already made) or written (None: its ``Applied`` once committed)."""

    out: list[Applied | PaychannelsError | None]
    written: Callable[[], list[Applied]]

    def results(self) -> list[Applied | PaychannelsError]:
        applied = iter(self.written())
        return [next(applied) if item is None else item for item in self.out]


def _only(results: Sequence[Applied | PaychannelsError]) -> Applied:
    """The one result of a single-record write, or its refusal raised."""
    result = results[0]
    if isinstance(result, PaychannelsError):
        raise result
    return result


class SqlWrites(SqlBase):
    """Creating and changing records; every change is planned (``plan``) then written."""

    def create(
        self,
        new: NewRecord,
        *,
        now: datetime,
        then: Sequence[Change] = (),
        state: StateWrite | None = None,
    ) -> Applied:
        if state is None:
            result = self.create_many([new], now=now, then=then)[0]
            if isinstance(result, PaychannelsError):
                raise result
            return result

        def write(tx: Tx) -> Callable[[], Applied]:
            chunk = self._create_chunk(tx, [new], now, then)
            first = chunk.out[0]
            if isinstance(first, PaychannelsError):
                raise first
            if first is not None:  # the record its key already made
                return lambda: first
            written = self._put_state_after(tx, state, now)
            return lambda: replace(_only(chunk.results()), state_written=written())

        return self._racing(new, write)

    def create_many(
        self, news: Sequence[NewRecord], *, now: datetime, then: Sequence[Change] = ()
    ) -> list[Applied | PaychannelsError]:
        results: list[Applied | PaychannelsError] = []
        for start in range(0, len(news), _CHUNK):
            chunk = news[start : start + _CHUNK]
            try:
                with self._transaction(write=True, pipeline=True) as tx:
                    done = self._create_chunk(tx, chunk, now, then)
                results.extend(done.results())  # (committed: the events' seqs came with it)
            except _Raced:
                # another process inserted one of these keys meanwhile: settle one by one
                results.extend(self._create_one(new, now, then) for new in chunk)
            except Exception as exc:
                if not self._is_obligation_violation(exc):
                    raise
                # an obligation raced: the retry sees the rival and names it
                results.extend(self._create_one(new, now, then) for new in chunk)
        return results

    def _create_one(
        self, new: NewRecord, now: datetime, then: Sequence[Change]
    ) -> Applied | PaychannelsError:
        def write(tx: Tx) -> Callable[[], Applied | PaychannelsError]:
            chunk = self._create_chunk(tx, [new], now, then)
            return lambda: chunk.results()[0]

        return self._racing(new, write)

    def _racing(self, new: NewRecord, write: Callable[[Tx], Callable[[], T]]) -> T:
        """``write`` in a write transaction, again while other writers race ``new`` (its key
        or its obligation inserted meanwhile), a few times at most; ``write`` returns what
        gives its result once committed."""
        for attempt in range(_RETRIES):
            try:
                with self._transaction(write=True, pipeline=True) as tx:
                    done = write(tx)
                return done()
            except _Raced:
                continue
            except Exception as exc:
                if not self._is_obligation_violation(exc) or attempt == _RETRIES - 1:
                    raise
        raise JournalError(f"{new.id}: other writers kept racing this record; try again")

    def _create_chunk(
        self, tx: Tx, news: Sequence[NewRecord], now: datetime, then: Sequence[Change]
    ) -> _Chunk:
        obligations, existing = self._checks(tx, news)
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
                occurrence = 1
                if new.kind == "payment":
                    occurrence = _next_occurrence(new, obligations.get(_obligation_key(new)))
                else:
                    self._refuse_over_refund(tx, new)
                new_plan = plan_new(new, now, then, occurrence=occurrence)
            except (
                IdempotencyConflict,
                AlreadyInDoubt,
                AlreadyPaid,
                IllegalTransition,
                InvalidRequest,
            ) as exc:
                out.append(exc)
                continue
            except PaymentNotFound as exc:
                out.append(exc)
                continue
            if new.kind == "payment":
                obligations[_obligation_key(new)] = _Obligation(
                    (new.id, new_plan.record.status), None, occurrence
                )
            in_batch.add(req.idempotency_key)
            plans.append(new_plan)
            out.append(None)
        return _Chunk(out, self._write_plans(tx, plans, insert=True))

    def _checks(
        self, tx: Tx, news: Sequence[NewRecord]
    ) -> tuple[dict[tuple[str, str], _Obligation], dict[str, Row]]:
        """What counts against the new payments' obligations, and the records their keys
        already made: one read (``_check_queries``), split here."""
        payers = sorted({n.request.payer_id for n in news if n.kind == "payment"})
        keys = [n.request.idempotency_key for n in news]
        found = [r for rows in tx.rows_each(_check_queries(payers, keys)) for r in rows]
        wanted, asked = set(payers), set(keys)
        live = {
            r["id"]: r
            for r in found
            if r["kind"] == "payment" and r["status"] in _LIVE and r["payer_id"] in wanted
        }
        obligations = _obligations([live[k] for k in sorted(live)])
        existing = {r["idempotency_key"]: r for r in found if r["idempotency_key"] in asked}
        return obligations, existing

    def _existing(self, row: Row, new: NewRecord) -> Applied:
        if row["fingerprint"] != new.fingerprint:
            raise IdempotencyConflict(
                f"idempotency key {new.request.idempotency_key!r} was already used for "
                f"{row['id']} with a different request (amount, payer, reference or "
                "channel differ); use a new key for a new request"
            )
        return Applied(self._record(row), (), created=False)

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
            with self._transaction(write=True, pipeline=True) as tx:
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
                written = self._write_plans(tx, list(plans.values()), insert=False)
            # committed: the events' seqs came with the commit
            applied = dict(zip(plans, written(), strict=True))
            for i, record_id in owners.items():
                results[i] = applied[record_id]
        return [r if r is not None else PaymentNotFound("unreachable") for r in results]

    def settle(
        self, record_id: str, decide: Decide, *, now: datetime, known: Record | None = None
    ) -> Applied:
        with self.outcome_sync.answering():
            if known is not None and known.id == record_id:
                applied = self._settle_known(known, decide, now)
                if applied is not None:
                    return applied
            return self.modify(record_id, decide, now=now)

    def _settle_known(self, known: Record, decide: Decide, now: datetime) -> Applied | None:
        """The answer decided on ``known`` and written only if the row is still at its
        version: one compare-and-set UPDATE instead of reading the row back (a statement
        and a row's conversion a payment). None if the row moved or the plan is not a
        plain update: ``modify`` then reads the row and decides on it as it is."""
        try:
            step = plan(known, list(decide(known)), now)
        except (IllegalTransition, InvalidRequest):
            return None  # decided again on the row as it is, which names the fault
        if not step.columns or not step.events:
            return None
        columns = tuple(step.columns)
        assignments = ", ".join(f"{c} = ?" for c in columns)
        with self._transaction(write=True, pipeline=True) as tx:
            moved = tx.run(
                f"UPDATE pc_payments SET {assignments}, version = version + 1 "
                "WHERE id = ? AND version = ?",
                [*(self._db(c, step.columns[c]) for c in columns), known.id, known.version],
            )
            if moved != 1:
                return None  # nothing written: the row path decides on the row as it is
            events = self._append_events(tx, [step])
            crashpoint("journal.before_commit")
        return Applied(step.record, events()[0], created=False)

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
            written = self._write_plans(tx, [step], insert=False)
        return _only(written())

    def _db(self, column: str, value: Any) -> Any:
        if value is None:
            return None
        if column in TIMESTAMP_COLUMNS:
            return self._ts_in(value)
        if isinstance(value, StrEnum):
            return value.value
        if column in ("channel_data", "request_json"):
            return _stored_json(value)
        if isinstance(value, str) and column not in _IDENTITY:
            return storable(value)  # free text from channels; identities are never rewritten
        return value

    def _write_plans(
        self, tx: Tx, plans: Sequence[Plan], *, insert: bool
    ) -> Callable[[], list[Applied]]:
        """Execute plans in bulk: rows inserted or updated, then their events appended; what
        gives the ``Applied`` once the transaction committed (the events' ``seq`` may come
        back with the commit)."""
        if insert and plans:
            names = list(plans[0].columns)
            marks = ", ".join("?" for _ in names)
            # no conflict target: a row any unique key refuses (the idempotency key, an open
            # obligation; per payer on a partitioned journal) is a rival's, and the retry's
            # read names it — naming one constraint would tie the insert to one table layout
            inserted = tx.many(
                f"INSERT INTO pc_payments ({', '.join(names)}) VALUES ({marks}) "
                "ON CONFLICT DO NOTHING",
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
                update = f"UPDATE pc_payments SET {assignments}, version = version + 1 WHERE id = ?"
                values = [
                    [*(self._db(c, p.columns[c]) for c in columns), p.record.id] for p in members
                ]
                if len(values) == 1:  # the row is locked: it is there; goes with the events
                    tx.send(update, values[0])
                else:
                    tx.many(update, values)
        events = self._append_events(tx, plans)
        crashpoint("journal.before_commit")

        def applied() -> list[Applied]:
            made = events()
            return [Applied(p.record, e, created=insert) for p, e in zip(plans, made, strict=True)]

        return applied

    def _few_events(self, tx: Tx, sql: str, params: Sequence[Any]) -> Callable[[], list[Row]]:
        """Insert a few events (``sql`` returns their ``seq``) under the event-order rule;
        their rows once the transaction ended. PostgreSQL folds its lock into the insert."""
        self._before_events(tx)
        return tx.rows_after(sql, params)

    def _append_events(
        self, tx: Tx, plans: Sequence[Plan]
    ) -> Callable[[], list[tuple[Event, ...]]]:
        """Append the plans' events; what gives them, with their ``seq``, once committed."""
        specs = [(p.record, p.at, spec) for p in plans for spec in p.events]
        if not specs:
            return lambda: [() for _ in plans]
        rows = [
            (
                record.id,
                self._ts_in(at),
                spec.type.value,
                spec.from_status.value if spec.from_status else None,
                spec.to_status.value if spec.to_status else None,
                _stored_json(spec.data),
                _columns_set(spec.sets),
            )
            for record, at, spec in specs
        ]
        insert = (
            "INSERT INTO pc_events "
            "(payment_id, at, type, from_status, to_status, data, columns_set) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)"
        )
        if len(rows) <= _FEW:  # one statement, answered with the commit when pipelined
            values = ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(rows))
            returned = self._few_events(
                tx,
                f"{insert[: insert.index('VALUES')]}VALUES {values} RETURNING seq",
                [v for row in rows for v in row],
            )
            # rows are inserted in the order of VALUES, each taking the next seq
            return lambda: _events(plans, specs, sorted(int(r["seq"]) for r in returned()))
        self._before_events(tx)
        top = _one(tx, "SELECT COALESCE(MAX(seq), 0) AS top FROM pc_events", ())
        tx.many(insert, rows)
        # the event-order lock (or SQLite's write lock) is held: these are exactly ours
        found = tx.rows("SELECT seq FROM pc_events WHERE seq > ? ORDER BY seq", (top["top"],))
        seqs = [int(r["seq"]) for r in found]
        if len(seqs) != len(specs):
            raise JournalError(f"appended {len(specs)} events but found {len(seqs)}")
        made = _events(plans, specs, seqs)
        return lambda: made


def _events(
    plans: Sequence[Plan],
    specs: Sequence[tuple[Record, datetime, EventSpec]],
    seqs: Sequence[int],
) -> list[tuple[Event, ...]]:
    """The events appended for ``plans``, per plan, from their specs and their ``seq``."""
    made = iter(
        trusted(
            Event,
            {
                "seq": seq,
                "payment_id": record.id,
                "channel": record.channel,
                "at": at,
                "type": spec.type,
                "from_status": spec.from_status,
                "to_status": spec.to_status,
                "data": spec.data,
            },
        )
        for seq, (record, at, spec) in zip(seqs, specs, strict=True)
    )
    return [tuple(next(made) for _ in p.events) for p in plans]
