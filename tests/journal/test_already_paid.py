"""An obligation that is paid is not charged again under a new idempotency key.

The one-open-attempt rule extends to "already paid": a new attempt for a (payer, reference)
with a SUCCEEDED payment is ``AlreadyPaid`` naming that payment, unless the request says
``pay_again=True``. REVERSED or fully refunded payments no longer count. Raced by real
processes on SQLite and PostgreSQL, where only the database can keep the rule.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from paychannels import (
    AlreadyInDoubt,
    AlreadyPaid,
    Collector,
    InvalidRequest,
    MemoryChannel,
    Money,
    PaymentRequest,
    Status,
    open_journal,
)
from paychannels.channels.ledger import FileLedger

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("paid_race_child.py")


def req(
    key: str, payer: str = "P1", *, again: bool = False, amount: str = "100.00"
) -> PaymentRequest:
    return PaymentRequest(
        payer_id=payer,
        amount=Money(amount, "CNY"),
        reference="2026-pension",
        idempotency_key=key,
        pay_again=again,
    )


@pytest.fixture
def col(journal_url: str) -> Iterator[Collector]:
    c = Collector.open(journal_url, create=True)
    c.add_channel("hall-1", MemoryChannel())
    c.add_channel("hall-2", MemoryChannel())
    yield c
    c.close()


def test_a_paid_obligation_is_refused_under_a_new_key(col: Collector) -> None:
    first = col.collect(req("k1"), channel="hall-1")
    assert first.status is Status.SUCCEEDED
    with pytest.raises(AlreadyPaid, match=first.id) as caught:
        col.collect(req("k2"), channel="hall-2")  # another channel, a fresh key
    assert caught.value.payment_id == first.id
    assert col.collect(req("k1"), channel="hall-1").id == first.id  # a retry is still a retry
    assert [r.id for r in col.find(payer_id="P1")] == [first.id]


def test_pay_again_is_explicit_and_one_at_a_time(col: Collector) -> None:
    first = col.collect(req("k1"), channel="hall-1")
    second = col.collect(req("k2", again=True), channel="hall-2")
    assert second.status is Status.SUCCEEDED and second.id != first.id
    with pytest.raises(AlreadyPaid):
        col.collect(req("k3"), channel="hall-1")
    mem = col.channel("hall-1")
    assert isinstance(mem, MemoryChannel)
    mem.script("lose_reply")
    third = col.collect(req("k4", again=True), channel="hall-1")
    assert third.status is Status.UNKNOWN
    with pytest.raises(AlreadyInDoubt):  # even a deliberate repeat waits for the open one
        col.collect(req("k5", again=True), channel="hall-2")


def test_reversed_or_fully_refunded_payment_frees_the_obligation(col: Collector) -> None:
    first = col.collect(req("k1"), channel="hall-1")
    col.cancel(first.id)  # void: REVERSED
    assert col.status(first.id).status is Status.REVERSED
    second = col.collect(req("k2"), channel="hall-1")
    assert second.status is Status.SUCCEEDED
    col.refund(second.id, Money("40.00", "CNY"))
    with pytest.raises(AlreadyPaid, match=second.id):  # partly refunded: still paid
        col.collect(req("k3"), channel="hall-2")
    col.refund(second.id, Money("60.00", "CNY"))
    third = col.collect(req("k3"), channel="hall-2")  # fully refunded: owed again
    assert third.status is Status.SUCCEEDED
    with pytest.raises(AlreadyPaid, match=third.id):
        col.collect(req("k4"), channel="hall-1")


def test_bulk_paths_refuse_paid_obligations_in_place(col: Collector) -> None:
    paid = col.collect(req("k0", "P0"), channel="hall-1")
    out = col.collect_many(
        [req("b0", "P0"), req("b1", "P1"), req("b2", "P1"), req("b3", "P0", again=True)],
        channel="hall-2",
    )
    assert isinstance(out[0], AlreadyPaid) and out[0].payment_id == paid.id
    assert not isinstance(out[1], Exception) and out[1].status is Status.SUCCEEDED
    assert isinstance(out[2], AlreadyInDoubt)  # the same obligation twice in one batch
    assert not isinstance(out[3], Exception) and out[3].status is Status.SUCCEEDED


def test_payer_ids_are_normalised_before_the_rule(col: Collector) -> None:
    first = col.collect(req("k1", "150422199001011234"), channel="hall-1")
    for twin in (
        "１５０４２２１９９００１０１１２３４",
        " 150422199001011234 ",
        "\u3000150422199001011234",
    ):
        assert (
            PaymentRequest(
                payer_id=twin, amount=Money("1", "CNY"), reference="r", idempotency_key="x"
            ).payer_id
            == "150422199001011234"
        )
        with pytest.raises(AlreadyPaid, match=first.id):
            col.collect(req(f"k-{len(twin)}-{ord(twin[0])}", twin), channel="hall-2")


@pytest.mark.parametrize("key", ["k1\n", "k1\r\n", "k\x001", "k1\x7f", "k1\t"])
def test_idempotency_keys_with_control_characters_are_refused(key: str) -> None:
    with pytest.raises(InvalidRequest, match="idempotency_key"):
        req(key)


# -- real processes racing ------------------------------------------------------------------


def _race(db: str, tmp: Path, processes: int, obligations: int) -> None:
    ledger = tmp / "ledger.db"
    FileLedger(ledger)
    barrier = tmp / "barrier"
    barrier.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(CHILD),
                db,
                str(ledger),
                str(barrier),
                f"p{n}",
                str(processes),
                str(obligations),
            ],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(processes)
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    journal = open_journal(db)
    try:
        records = {r.id: r for r in journal.find(limit=100 * obligations * processes)}
        paid = Counter(r.payer_id for r in records.values() if r.status is Status.SUCCEEDED)
        charged = Counter(
            records[e.key].payer_id
            for e in FileLedger(ledger).entries()
            if e.status == "SUCCEEDED" and e.key in records
        )
    finally:
        journal.close()
    assert len(paid) == obligations
    assert set(paid.values()) == {1}, f"paid twice: {[p for p, n in paid.items() if n > 1]}"
    assert set(charged.values()) == {1}, "the device charged an obligation twice"


@pytest.mark.slow
def test_processes_racing_fresh_keys_pay_each_obligation_once(
    journal_url: str, tmp_path: Path
) -> None:
    Collector.open(journal_url, create=True).close()
    _race(journal_url, tmp_path, processes=4, obligations=60)


# -- a journal written before the rule --------------------------------------------------------


def _v1_journal_with_a_double(url: str) -> None:
    """A version-1 journal (as the library wrote it before) where P1 paid 2026 twice."""
    from paychannels.journal.schema import MIGRATIONS, render

    dialect = "sqlite" if url.startswith("sqlite") else "postgres"
    stamp = "2026-03-01T08:00:00.000000Z" if dialect == "sqlite" else "2026-03-01T08:00:00Z"
    statements = render(MIGRATIONS[0], dialect)
    statements.append("INSERT INTO pc_meta (key, value) VALUES ('schema_version', '1')")
    for n in (1, 2):
        pid = f"pay_00000000000000000000000{n:03d}"
        statements.append(
            "INSERT INTO pc_payments (id, kind, idempotency_key, fingerprint, channel, status, "
            "payer_id, reference, currency, amount_minor, taken_minor, request_json, "
            f"created_at, updated_at) VALUES ('{pid}', 'payment', 'old-{n}', 'f', 'hall-1', "
            f"'SUCCEEDED', 'P1', '2026-pension', 'CNY', 10000, 10000, '{{}}', '{stamp}', "
            f"'{stamp}')"
        )
        for src, dst in ((None, "CREATED"), ("CREATED", "DISPATCHED"), ("DISPATCHED", "SUCCEEDED")):
            statements.append(
                "INSERT INTO pc_events (payment_id, at, type, from_status, to_status) VALUES "
                f"('{pid}', '{stamp}', '{'created' if src is None else 'status'}', "
                f"{'NULL' if src is None else repr(src)}, '{dst}')"
            )
    if dialect == "sqlite":
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        for stmt in statements:
            conn.execute(stmt)
        conn.commit()
        conn.close()
    else:
        import psycopg

        with psycopg.connect(url, autocommit=True) as pg:
            for stmt in statements:
                pg.execute(stmt.encode())


def test_migrating_a_journal_with_doubles_keeps_them_and_closes_the_door(
    journal_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _v1_journal_with_a_double(journal_url)
    with Collector.open(journal_url) as col:  # migrates 1 -> 2
        col.add_channel("hall-1", MemoryChannel())
        olds = col.find(payer_id="P1")
        assert [r.occurrence for r in olds] == [1, 2]
        with pytest.raises(AlreadyPaid, match=olds[0].id):
            col.collect(req("k-new"), channel="hall-1")
        again = col.collect(req("k-again", again=True), channel="hall-1")
        assert again.status is Status.SUCCEEDED and again.occurrence == 3
    from paychannels.cli.main import main

    assert main(["journal", "verify", "--db", journal_url]) == 0, capsys.readouterr().out
