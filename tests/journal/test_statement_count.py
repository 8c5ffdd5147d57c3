"""Statements the journal runs per ``collect()`` (issue 12 item 11, issue 16 item 5).

The journal's CPU per payment goes mostly to its statements; this pins their number on both
backends so that one more per payment fails here, not in a benchmark weeks later. Counted at
the driver (every statement SQLite runs, every statement psycopg sends, BEGIN and COMMIT
included), on the memory channel, after a warm-up.

SQLite, 9: the intent (BEGIN, the obligation and key check in one read, the row, its events,
COMMIT), the answer (BEGIN, the row's compare-and-set update — no read of the row since
issue 12 item 11 —, its events, COMMIT); 11 while a lazy answer switched its connection's
``synchronous`` and back (the connections now run NORMAL, the journal flushes the log).
PostgreSQL, 5: each transaction is pipelined and ends at the pipeline's Sync (no BEGIN, no
COMMIT), the event-order lock and the lazy commit's switch go with the events' insert — the
check, the row, its events; the row's compare-and-set update, its events.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from paychannels import Collector, MemoryChannel, Money, PaymentRequest, Status

LIMITS = {"sqlite": 9, "postgres": 5}


def _request(i: int) -> PaymentRequest:
    return PaymentRequest(
        payer_id=f"15042219900101{i:04d}",
        amount=Money("380.00", "CNY"),
        reference="2026",
        idempotency_key=f"count-{i}",
        payer_name="张三",
    )


@contextmanager
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every statement the drivers run while the block lasts (connections opened inside)."""
    seen: list[str] = []
    connect = sqlite3.connect

    def traced(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = connect(*args, **kwargs)
        conn.set_trace_callback(seen.append)
        return conn

    def counting(method: Callable[..., Any]) -> Callable[..., Any]:
        def run(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append(query.decode() if isinstance(query, bytes) else str(query))
            return method(self, query, *args, **kwargs)

        return run

    monkeypatch.setattr(sqlite3, "connect", traced)
    monkeypatch.setattr(psycopg.Cursor, "execute", counting(psycopg.Cursor.execute))
    monkeypatch.setattr(psycopg.Cursor, "executemany", counting(psycopg.Cursor.executemany))
    yield seen


@pytest.mark.parametrize("rule", ["lazy", "full"])
def test_statements_per_collect(
    journal_url: str, rule: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = "sqlite" if journal_url.startswith("sqlite") else "postgres"
    sep = "&" if "?" in journal_url else "?"
    url = f"{journal_url}{sep}outcome_sync={rule}"
    with counted(monkeypatch) as seen, Collector.open(url, create=True) as col:
        col.add_channel("hall-1", MemoryChannel())
        for i in range(3):  # warm: connection, schema, the first window
            col.collect(_request(i), channel="hall-1")
        counts = []
        for i in range(3, 8):
            seen.clear()
            assert col.collect(_request(i), channel="hall-1").status is Status.SUCCEEDED
            counts.append(len(seen))
        last = list(seen)
    limit = LIMITS[backend]
    assert max(counts) <= limit, f"statements per collect() {counts} > {limit}: {last}"
