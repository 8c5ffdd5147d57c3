"""The library's own journal tests on a partitioned PostgreSQL journal (journal.partitioning).

The imported tests run unchanged: this module's ``journal_url`` hands them a journal whose
``pc_payments`` is hash-partitioned by payer and whose ``pc_events`` has a partition a month
(docs/scale.md). The tests below it check what partitioning itself promises.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from paychannels import Collector, MemoryChannel, Money, PaymentRequest
from paychannels.journal import Change, open_journal
from paychannels.journal.partitioning import Partitioning, add_event_months, partition_journal
from paychannels.values.errors import IdempotencyConflict, InvalidRequest, JournalError
from paychannels.values.models import EventType
from tests.conftest import pg_schema
from tests.journal.test_already_paid import (  # noqa: F401 - run here on the partitioned journal
    col,
    test_a_paid_obligation_is_refused_under_a_new_key,
    test_bulk_paths_refuse_paid_obligations_in_place,
    test_pay_again_is_explicit_and_one_at_a_time,
    test_reversed_or_fully_refunded_payment_frees_the_obligation,
)
from tests.journal.test_journal_contract import (  # noqa: F401
    journal,
    new,
    test_annotations_and_changes_on_one_record_never_deadlock,
    test_create_is_idempotent,
    test_create_many_commits_the_good_and_returns_the_refused,
    test_events_are_append_only,
    test_events_tail_in_order,
    test_find_filters_and_pages,
    test_illegal_transition_changes_nothing,
    test_key_reuse_with_other_request_is_refused,
    test_modify_many_applies_in_one_go,
    test_multi_step_change_is_all_or_nothing,
    test_outcome_fields_and_reason_follow_status,
    test_refund_cannot_exceed_what_was_taken,
    test_second_attempt_refused_while_first_is_open,
    test_then_changes_apply_in_the_same_transaction,
    test_threads_share_one_journal,
)
from tests.journal.test_verify import test_a_busy_journal_verifies_clean  # noqa: F401

PLAN = Partitioning(payer_partitions=4, months_ahead=2)


@pytest.fixture
def journal_url() -> Iterator[str]:
    """A partitioned journal on the test PostgreSQL (overrides the two-backend fixture)."""
    with pg_schema() as url:
        open_journal(url, create=True).close()
        partition_journal(url, PLAN)
        yield url


def req(i: int, *, key: str | None = None, payer: str | None = None) -> PaymentRequest:
    return PaymentRequest(
        payer_id=payer or f"15042219900101{i:04d}",
        amount=Money("380.00", "CNY"),
        reference="2026-pension",
        idempotency_key=key or f"k{i}",
    )


def partitions(url: str, table: str) -> dict[str, int]:
    """Rows per partition of ``table``."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            f"SELECT tableoid::regclass::text, count(*) FROM {table} GROUP BY 1"
        ).fetchall()
    return {str(name).rsplit(".", 1)[-1]: int(n) for name, n in rows}


def test_rows_spread_over_payer_partitions_and_event_months(journal_url: str) -> None:
    with Collector.open(journal_url) as c:
        c.add_channel("hall-1", MemoryChannel())
        c.collect_many([req(i) for i in range(200)], channel="hall-1")
    spread = partitions(journal_url, "pc_payments")
    assert set(spread) == {f"pc_payments_p{k}" for k in range(4)}
    assert sum(spread.values()) == 200 and min(spread.values()) > 20
    this_month = f"pc_events_{datetime.now(UTC):%Y%m}"
    assert partitions(journal_url, "pc_events") == {
        this_month: 800
    }  # four events a payment on the memory channel


def test_events_go_to_their_month_and_keep_seq_order(journal_url: str) -> None:
    j = open_journal(journal_url)
    try:
        now = datetime.now(UTC).replace(day=15)
        j.create(new(req(1), "pay_1"), now=now)
        later = (now + timedelta(days=31)).replace(day=15)
        j.append("pay_1", Change(EventType.NOTE, data={"why": "a month on"}), now=later)
        j.create(new(req(2), "pay_2"), now=later + timedelta(days=400))  # past the months made
        seqs = [e.seq for e in j.events(after=0)]
    finally:
        j.close()
    assert seqs == sorted(seqs) and len(seqs) == 3
    assert partitions(journal_url, "pc_events") == {
        f"pc_events_{now:%Y%m}": 1,
        f"pc_events_{later:%Y%m}": 1,
        "pc_events_default": 1,
    }


def test_a_key_stays_unique_across_payer_partitions(journal_url: str) -> None:
    """The same idempotency key for two payers: one payment, the other refused, even when
    the two payers hash to different partitions and the check runs in the database alone."""
    with Collector.open(journal_url) as c:
        c.add_channel("hall-1", MemoryChannel())
        c.collect(req(1, key="shared"), channel="hall-1")
        with pytest.raises(IdempotencyConflict):
            c.collect(req(2, key="shared"), channel="hall-1")
    with psycopg.connect(journal_url) as conn, pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute(  # what a racing writer's insert meets: the key table
            "INSERT INTO pc_payments (id, kind, idempotency_key, fingerprint, channel, status, "
            "payer_id, reference, currency, amount_minor, request_json, created_at, "
            "updated_at) SELECT 'pay_other', kind, idempotency_key, fingerprint, channel, "
            "'CREATED', 'ANOTHER-PAYER-99', reference, currency, amount_minor, request_json, "
            "created_at, updated_at FROM pc_payments WHERE idempotency_key = 'shared'"
        )


def test_existing_rows_and_event_numbers_survive_partitioning() -> None:
    with pg_schema() as url:
        with Collector.open(url, create=True) as col:
            col.add_channel("hall-1", MemoryChannel())
            paid = col.collect(req(1), channel="hall-1")
            before = [(e.seq, e.type) for e in col.events(payment_id=paid.id)]
        partition_journal(url, PLAN)
        with Collector.open(url) as col:
            col.add_channel("hall-1", MemoryChannel())
            assert col.status(paid.id) == paid
            assert [(e.seq, e.type) for e in col.events(payment_id=paid.id)] == before
            again = col.collect(req(2), channel="hall-1")
            assert col.events(payment_id=again.id)[0].seq > before[-1][0]
        with pytest.raises(JournalError, match="already partitioned"):
            partition_journal(url, PLAN)


def test_months_are_added_ahead_and_bad_plans_refused(journal_url: str) -> None:
    far = datetime.now(UTC) + timedelta(days=150)
    made = add_event_months(journal_url, months_ahead=1, now=far)
    assert f"pc_events_{far:%Y%m}" in made
    assert add_event_months(journal_url, months_ahead=1, now=far) == []
    with pytest.raises(InvalidRequest, match="payer_partitions"):
        Partitioning(payer_partitions=0)
