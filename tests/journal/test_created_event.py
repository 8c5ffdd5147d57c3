"""The ``created`` event carries what the payment row does not already hold: the request
itself lives in the row (``request_json``), the event holds its SHA-256 (issue 16: the
event repeated the whole request, ~1 KB a debit). ``journal verify`` still names a request
edited behind the journal's back — on the row-by-row and the set-based create path."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import psycopg
import pytest

from paychannels import Collector, Money, PaymentRequest
from paychannels.journal.bulkcreate import SET_MIN
from paychannels.values.models import Payment
from tests.journal.test_verify import raw


def _request(i: int) -> PaymentRequest:
    return PaymentRequest(
        payer_id=f"15042219900101{i:04d}",
        amount=Money("200.00", "CNY"),
        reference="2026:城乡居民基本养老保险",
        idempotency_key=f"roster-{i}",
        payer_name=f"李四{i}",
        description="城乡居民基本养老保险 2026",
        metadata={"account": f"62170000100{i:05d}", "mandate_id": f"DK2025{i:05d}"},
    )


def _created_columns(url: str, payment_id: str) -> tuple[str, dict[str, Any]]:
    """The first event's stored ``columns_set``, as text and parsed."""
    sql = "SELECT type, columns_set FROM pc_events WHERE payment_id = ? ORDER BY seq LIMIT 1"
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        row = conn.execute(sql, (payment_id,)).fetchone()
        conn.close()
    else:
        with psycopg.connect(url) as pg:
            row = pg.execute(sql.replace("?", "%s"), (payment_id,)).fetchone()
    assert row is not None and row[0] == "created", row
    return str(row[1]), json.loads(row[1])


@pytest.mark.parametrize("path", ["one", "many"])
def test_the_created_event_holds_the_requests_digest_not_the_request(
    journal_url: str, path: str
) -> None:
    with Collector.open(journal_url, create=True) as col:
        col.add_channel("m", "memory://")
        if path == "one":
            paid = col.collect(_request(1), "m")
        else:
            done = col.collect_many([_request(i) for i in range(1, 1 + SET_MIN)], "m")
            found = next(p for p in done if isinstance(p, Payment) and p.payer_name == "李四1")
            assert isinstance(found, Payment)
            paid = found
        assert col.journal.verify(paid.id) == []
    text, columns = _created_columns(journal_url, paid.id)
    assert "request_json" not in columns and len(columns["request_sha256"]) == 64
    assert "6217000010000001" not in text and "李四1" not in text  # the request is in the row
    assert columns["amount_minor"] == 20000 and columns["payer_id"] == paid.payer_id
    with raw(journal_url) as run:  # the payer's account changed behind the journal's back
        run(
            "UPDATE pc_payments SET request_json = replace(request_json, '62170000100', "
            "'99990000100') WHERE id = ?",
            (paid.id,),
        )
    with Collector.open(journal_url) as col:
        problems = col.journal.verify(paid.id)
    assert any(p.startswith("request_json:") for p in problems), problems
    assert "9999" not in " ".join(problems)  # named, never shown
