"""``paychannels journal verify`` replays every payment's events against every stored column.

A busy journal (payments, declines, recoveries, refunds, voids, manual decisions, a bulk
result file) verifies clean; each kind of tampering with a real SQLite or PostgreSQL journal
— an edited amount, taken amount, payer or currency, a forged DECLINED→SUCCEEDED event, a
deleted payment row — is reported with the payment id and the column, and exit code 1.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from paychannels import Collector, MemoryChannel, Money, PaymentRequest, Status
from paychannels.cli.main import main
from paychannels.values.results import ResultRow


def req(i: int, amount: str = "100.00") -> PaymentRequest:
    return PaymentRequest(
        payer_id=f"15042219900101{i:04d}",
        amount=Money(amount, "CNY"),
        reference="2026-pension",
        idempotency_key=f"k{i}",
        payer_name="张三",
        metadata={"village": "东村"},
    )


def busy_day(url: str) -> dict[str, str]:
    """A journal with every kind of write; returns some payment ids by what became of them."""
    ids: dict[str, str] = {}
    with Collector.open(url, create=True) as col:
        mem = MemoryChannel()
        col.add_channel("hall-1", mem)
        mem.script("approve", "decline", "lose_reply", "approve", "approve", "pending", "pending")
        ids["paid"] = col.collect(req(1), channel="hall-1").id
        ids["declined"] = col.collect(req(2), channel="hall-1").id
        ids["unknown"] = col.collect(req(3), channel="hall-1").id
        ids["refunded"] = col.collect(req(4), channel="hall-1").id
        ids["voided"] = col.collect(req(5), channel="hall-1").id
        ids["bulk_paid"] = col.collect(req(6), channel="hall-1").id
        ids["bulk_declined"] = col.collect(req(7), channel="hall-1").id
        col.recover()
        assert col.status(ids["unknown"]).status is Status.SUCCEEDED
        col.refund(ids["refunded"], Money("30.00", "CNY"))
        col.cancel(ids["voided"])
        col.flag_attention(ids["paid"], "the cashier saw two receipts")
        rows = [
            ResultRow(ids["bulk_paid"], Status.SUCCEEDED, taken_minor=8000, channel_ref="B1"),
            ResultRow(ids["bulk_declined"], Status.DECLINED, reason_detail="AM04"),
        ]
        for _ in col.journal.apply_results(rows, channel="hall-1", via="file", now=col.clock.now()):
            pass
        col.collect_many([req(10 + i) for i in range(5)], channel="hall-1")
        assert col.status(ids["bulk_paid"]).amount_taken == Money("80.00", "CNY")
    return ids


def verify(url: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = main(["journal", "verify", "--db", url, "--json"])
    return code, json.loads(capsys.readouterr().out)


@contextmanager
def raw(url: str) -> Iterator[Callable[[str, tuple[Any, ...]], None]]:
    """Run SQL behind the library's back, as a careless or malicious operator would."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))  # foreign keys off, as the CLI
        yield lambda sql, params=(): conn.execute(sql, params) and None
        conn.commit()
        conn.close()
    else:
        with psycopg.connect(url, autocommit=True) as pg:
            pg.execute("SET session_replication_role = replica")  # past FKs and triggers
            yield lambda sql, params=(): pg.execute(sql.replace("?", "%s"), params) and None


@pytest.mark.slow
def test_a_busy_journal_verifies_clean(
    journal_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    busy_day(journal_url)
    code, out = verify(journal_url, capsys)
    assert out["problems"] == {} and code == 0
    assert out["checked"] == 13


TAMPERING = {
    "amount": ("paid", "UPDATE pc_payments SET amount_minor = 1000 WHERE id = ?", "amount_minor"),
    "taken": ("paid", "UPDATE pc_payments SET taken_minor = 1 WHERE id = ?", "taken_minor"),
    "payer": ("paid", "UPDATE pc_payments SET payer_id = 'TAMPERED-9Q' WHERE id = ?", "payer_id"),
    "currency": ("paid", "UPDATE pc_payments SET currency = 'USD' WHERE id = ?", "currency"),
    "bulk_taken": (
        "bulk_paid",
        "UPDATE pc_payments SET taken_minor = 10000 WHERE id = ?",
        "taken_minor",
    ),
    "forged": (
        "declined",
        "INSERT INTO pc_events (payment_id, at, type, from_status, to_status, data) "
        "SELECT id, updated_at, 'status', 'DECLINED', 'SUCCEEDED', '{}' FROM pc_payments "
        "WHERE id = ?",
        "DECLINED -> SUCCEEDED",
    ),
    "deleted": ("refunded", "DELETE FROM pc_payments WHERE id = ?", "row is missing"),
}


@pytest.mark.parametrize("how", sorted(TAMPERING))
@pytest.mark.slow
def test_tampering_is_reported_with_id_and_column(
    journal_url: str, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    ids = busy_day(journal_url)
    which, sql, expected = TAMPERING[how]
    with raw(journal_url) as run:
        run(sql, (ids[which],))
        if how == "forged":
            run("UPDATE pc_payments SET status = 'SUCCEEDED' WHERE id = ?", (ids[which],))
        if how == "deleted":  # the refund's row goes too, or the parent would be named
            run("DELETE FROM pc_payments WHERE parent_id = ?", (ids[which],))
    code, out = verify(journal_url, capsys)
    assert code == 1
    assert ids[which] in out["problems"], out["problems"]
    assert any(expected in p for p in out["problems"][ids[which]]), out["problems"]
    assert "TAMPERED-9Q" not in json.dumps(out) and "150422199001010001" not in json.dumps(out)


def test_verify_refuses_what_is_not_a_journal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE pc_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute("INSERT INTO pc_meta VALUES ('schema_version', '999')")
    conn.close()
    assert main(["journal", "verify", "--db", f"sqlite:///{other}"]) != 0
    (tmp_path / "text.db").write_text("not a database at all, not even close to one\n" * 20)
    assert main(["journal", "verify", "--db", f"sqlite:///{tmp_path}/text.db"]) != 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and "0 with problems" not in err
