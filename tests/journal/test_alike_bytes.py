"""A bank chunk's one answer (DISPATCHED -> PENDING) applied set-based by the journal writes
the very rows and events, JSON text included, that the row path writes (issue 16 item 1:
``apply_outcomes`` record by record was the next CPU bound of ``batch build``).

The same debits are collected on two journals of one backend at one manual clock: one as
the library runs (``modify_known`` set-based), one whose ``modify_known`` leaves every item
to the row path (the ``Journal`` default). Ids, claims and channel references (random per
run) are replaced by the payment's idempotency key; each payment's events are compared in
order, and the set path's PENDING events must follow the ids' order, as the row path's
one transaction writes them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from paychannels import Collector, Status
from paychannels.channels.bank import BankBatchChannel
from paychannels.channels.bank.formats import open_format
from paychannels.journal import Change, Journal, NewRecord
from paychannels.journal.base import Applied
from paychannels.journal.postgres import PostgresJournal
from paychannels.journal.sqlite import SqliteJournal
from paychannels.values.models import Record
from tests.bank.conftest import CREDITOR, bank_request, clock
from tests.conftest import pg_schema
from tests.journal.stored import stored_rows

N = 300  # above the set path's minimum, within one transaction of the row path
_OWNER = re.compile(r"[A-Za-z0-9._-]+/\d+/[0-9a-f]{8}\b")


class _Counted(Journal):
    """Counts the items the set path applied (a spy on the real journal, put before it)."""

    applied = 0

    def modify_known(
        self, items: Sequence[tuple[Record, Sequence[Change]]], *, now: datetime
    ) -> list[Applied | None]:
        done = super().modify_known(items, now=now)
        self.applied += sum(d is not None for d in done)
        return done


class SetSqlite(_Counted, SqliteJournal):
    pass


class SetPostgres(_Counted, PostgresJournal):
    pass


class RowSqlite(SqliteJournal):
    modify_known = Journal.modify_known  # every item through modify_many


class RowPostgres(PostgresJournal):
    modify_known = Journal.modify_known


def _journal(url: str, *, row_path: bool) -> Journal:
    Collector.open(url, create=True).close()  # the schema, migrated
    if url.startswith("sqlite"):
        return RowSqlite(url) if row_path else SetSqlite(url)
    return RowPostgres(url) if row_path else SetPostgres(url)


def _day(journal: Journal, root: Path) -> None:
    ch = BankBatchChannel(root, format=open_format("pain.008.001.08"), creditor=CREDITOR)
    with Collector(journal, clock=clock()) as col:
        col.add_channel("bank", ch)
        got = col.collect_many([bank_request(i) for i in range(N)], channel="bank")
    assert [p.status for p in got if not isinstance(p, Exception)] == [Status.PENDING] * N


def _dump(url: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    payments = "SELECT * FROM pc_payments ORDER BY idempotency_key"
    events = (
        "SELECT e.seq, p.idempotency_key, e.payment_id, e.at, e.type, e.from_status, "
        "e.to_status, e.data, e.columns_set FROM pc_events e "
        "JOIN pc_payments p ON p.id = e.payment_id ORDER BY e.seq"
    )
    return stored_rows(url, payments), stored_rows(url, events)


def _normalised(url: str) -> tuple[list[dict[str, str]], dict[str, list[dict[str, str]]]]:
    """Rows, and each payment's events in order, as text with the random parts named."""
    rows, evs = _dump(url)
    names = {r["id"][4:]: f"<{r['idempotency_key']}>" for r in rows}

    def text(row: dict[str, Any]) -> dict[str, str]:
        out = {}
        for k, v in row.items():
            t = v if isinstance(v, str) else repr(v)
            for ulid in names.keys() & set(re.findall(r"[0-9A-Z]{26}", t)):
                t = t.replace(ulid, names[ulid])
            out[k] = _OWNER.sub("<owner>", t)
        return out

    per_payment: dict[str, list[dict[str, str]]] = {}
    for e in evs:
        key = e.pop("idempotency_key")
        e.pop("seq")
        per_payment.setdefault(key, []).append(text(e))
    return [text(r) for r in rows], per_payment


def test_a_chunks_pending_step_writes_what_the_row_path_writes(
    journal_url: str, tmp_path: Path
) -> None:
    if journal_url.startswith("sqlite"):
        other = f"sqlite:///{tmp_path}/rows.db"
        _check(journal_url, other, tmp_path)
    else:
        with pg_schema() as other:
            _check(journal_url, other, tmp_path)


def _check(url: str, other: str, tmp_path: Path) -> None:
    fast = _journal(url, row_path=False)
    _day(fast, tmp_path / "set")
    assert isinstance(fast, _Counted)
    assert fast.applied == N  # every debit took the set path
    _day(_journal(other, row_path=True), tmp_path / "rows")
    set_rows, set_events = _normalised(url)
    row_rows, row_events = _normalised(other)
    assert set_rows == row_rows
    assert set_events == row_events
    _, evs = _dump(url)
    pending = [e["payment_id"] for e in evs if e["to_status"] == "PENDING"]
    assert pending == sorted(pending)  # appended in id order, as the row path locks them


def test_a_row_that_moved_since_it_was_read_takes_the_row_path(journal_url: str) -> None:
    """A record changed after the caller read it is left (None), its row untouched; the
    others are applied."""
    with Collector.open(journal_url, create=True, clock=clock()) as col:
        j = col.journal
        news = [
            NewRecord(f"pay_T{i:025d}", "payment", "bank", r, r.fingerprint("bank"))
            for i, r in enumerate(bank_request(i) for i in range(80))
        ]
        claim = Change(to_status=Status.DISPATCHED, new_attempt=True)
        read = [
            a.record
            for a in j.create_many(news, now=col.clock.now(), then=[claim])
            if isinstance(a, Applied)
        ]
        moved = read[7]
        j.modify(moved.id, lambda cur: [Change(reason_detail="touched")], now=col.clock.now())
        step = [Change(to_status=Status.PENDING, channel_ref="ref", attempt=1)]
        done = j.modify_known([(r, step) for r in read], now=col.clock.now())
        assert done[7] is None
        assert [d is None for i, d in enumerate(done) if i != 7] == [False] * 79
        assert j.get(moved.id).status is Status.DISPATCHED
        assert j.get(read[8].id).status is Status.PENDING
        assert j.verify(read[8].id) == []
