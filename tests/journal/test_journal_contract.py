"""One journal contract, run against real SQLite files and a real PostgreSQL server."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from paychannels import (
    AlreadyInDoubt,
    Collector,
    IdempotencyConflict,
    IllegalTransition,
    InvalidRequest,
    JournalError,
    JournalUnavailable,
    Money,
    PaymentNotFound,
    PaymentRequest,
    SchemaTooNew,
    Status,
    open_journal,
)
from paychannels.journal import SCHEMA_VERSION, Change, Journal, NewRecord, StateWrite
from paychannels.values.models import EventType

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def req(
    i: int = 1, *, amount: str = "380.00", key: str | None = None, ref: str = "2026"
) -> PaymentRequest:
    return PaymentRequest(
        payer_id=f"15042219900101{i:04d}",
        amount=Money(amount, "CNY"),
        reference=ref,
        idempotency_key=key or f"key-{i}",
        payer_name="张三",
        region="科尔沁右翼前旗/ᠬᠣᠷᠴᠢᠨ",
        metadata={"grade": "三档"},
    )


def new(r: PaymentRequest, rid: str, channel: str = "hall-1") -> NewRecord:
    return NewRecord(
        id=rid, kind="payment", channel=channel, request=r, fingerprint=r.fingerprint(channel)
    )


@pytest.fixture
def journal(journal_url: str) -> Journal:
    j = open_journal(journal_url, create=True)
    j.migrate()
    yield j  # type: ignore[misc]
    j.close()


def test_migrate_is_versioned_and_idempotent(journal_url: str) -> None:
    # A version-0 journal no longer exists: a place holds a journal or is refused, and
    # creating one builds it at the current version (it used to start empty, at 0).
    with pytest.raises(JournalUnavailable, match="no journal at"):
        open_journal(journal_url)
    j = open_journal(journal_url, create=True)
    assert j.created and j.schema_version() == SCHEMA_VERSION
    assert j.migrate() == (SCHEMA_VERSION, SCHEMA_VERSION)
    j.check_schema()
    j.close()
    again = open_journal(journal_url, create=True)
    assert not again.created
    again.close()


def test_newer_schema_is_refused_and_left_alone(journal: Journal, journal_url: str) -> None:
    journal.create(new(req(), "pay_1"), now=T0)
    with journal._transaction(write=True) as tx:  # type: ignore[attr-defined]
        tx.run("UPDATE pc_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(SchemaTooNew, match="Upgrade paychannels"):
        Collector.open(journal_url, create=True)
    with pytest.raises(SchemaTooNew):
        journal.migrate()
    assert journal.schema_version() == 99
    assert journal.get("pay_1").status is Status.CREATED


def test_create_is_idempotent(journal: Journal) -> None:
    first = journal.create(new(req(), "pay_1"), now=T0)
    again = journal.create(new(req(), "pay_2"), now=T0)
    assert first.created and not again.created
    assert again.record.id == "pay_1"
    assert [e.to_status for e in first.events] == [Status.CREATED]
    assert journal.find() == [first.record]


def test_key_reuse_with_other_request_is_refused(journal: Journal) -> None:
    journal.create(new(req(), "pay_1"), now=T0)
    with pytest.raises(IdempotencyConflict, match="key-1"):
        journal.create(new(req(amount="381.00"), "pay_2"), now=T0)
    with pytest.raises(IdempotencyConflict):
        journal.create(new(req(), "pay_2", channel="hall-2"), now=T0)
    assert [r.id for r in journal.find()] == ["pay_1"]
    assert journal.get("pay_1").amount == Money("380.00", "CNY")


def test_second_attempt_refused_while_first_is_open(journal: Journal) -> None:
    journal.create(new(req(), "pay_1"), now=T0)
    with pytest.raises(AlreadyInDoubt) as info:
        journal.create(new(req(key="other"), "pay_2"), now=T0)
    assert info.value.payment_id == "pay_1"
    for step in (Status.DISPATCHED, Status.DECLINED):
        journal.modify("pay_1", lambda _r, s=step: [Change(to_status=s)], now=T0)
    assert journal.create(new(req(key="other"), "pay_2"), now=T0).created


def test_then_changes_apply_in_the_same_transaction(journal: Journal) -> None:
    applied = journal.create(
        new(req(), "pay_1"), now=T0, then=[Change(to_status=Status.DISPATCHED, new_attempt=True)]
    )
    assert applied.record.status is Status.DISPATCHED
    assert applied.record.attempt == 1
    assert [(e.from_status, e.to_status) for e in applied.events] == [
        (None, Status.CREATED),
        (Status.CREATED, Status.DISPATCHED),
    ]


def test_illegal_transition_changes_nothing(journal: Journal) -> None:
    journal.create(new(req(), "pay_1"), now=T0)
    before = journal.events()
    with pytest.raises(IllegalTransition, match="CREATED to SUCCEEDED"):
        journal.modify("pay_1", lambda _r: [Change(to_status=Status.SUCCEEDED)], now=T0)
    assert journal.get("pay_1").status is Status.CREATED
    assert journal.events() == before


def test_multi_step_change_is_all_or_nothing(journal: Journal) -> None:
    journal.create(new(req(), "pay_1"), now=T0)
    with pytest.raises(IllegalTransition):
        journal.modify(
            "pay_1",
            lambda _r: [Change(to_status=Status.DISPATCHED), Change(to_status=Status.EXPIRED)],
            now=T0,
        )
    assert journal.get("pay_1").status is Status.CREATED
    assert len(journal.events()) == 1


def test_outcome_fields_and_reason_follow_status(journal: Journal) -> None:
    journal.create(new(req(), "pay_1"), now=T0)
    journal.modify("pay_1", lambda _r: [Change(to_status=Status.DISPATCHED)], now=T0)
    from paychannels import Reason

    r = journal.modify(
        "pay_1",
        lambda _r: [Change(to_status=Status.UNKNOWN, reason=Reason.NO_ANSWER, reason_detail="t/o")],
        now=T0,
    ).record
    assert (r.reason, r.reason_detail) == (Reason.NO_ANSWER, "t/o")
    r = journal.modify(
        "pay_1",
        lambda _r: [
            Change(
                to_status=Status.SUCCEEDED,
                amount_taken=Money("300.00", "CNY"),
                channel_ref="T-1",
                channel_data={"receipt": ["小票", "ᠲᠥᠯᠪᠦᠷᠢ"]},
            )
        ],
        now=T0 + timedelta(seconds=5),
    ).record
    assert r.status is Status.SUCCEEDED
    assert r.reason is None and r.reason_detail is None
    assert r.amount_taken == Money("300.00", "CNY")
    assert r.channel_ref == "T-1"
    assert r.channel_data["receipt"] == ["小票", "ᠲᠥᠯᠪᠦᠷᠢ"]
    assert r.updated_at == T0 + timedelta(seconds=5)
    assert r.version == 4
    assert r.payer_name == "张三" and r.region == "科尔沁右翼前旗/ᠬᠣᠷᠴᠢᠨ"
    assert journal.verify("pay_1") == []


def test_amount_taken_in_other_currency_is_refused(journal: Journal) -> None:
    journal.create(new(req(), "pay_1"), now=T0)
    journal.modify("pay_1", lambda _r: [Change(to_status=Status.DISPATCHED)], now=T0)
    with pytest.raises(JournalError, match="EUR"):
        journal.modify(
            "pay_1",
            lambda _r: [Change(to_status=Status.SUCCEEDED, amount_taken=Money("1", "EUR"))],
            now=T0,
        )


def test_events_are_append_only(journal: Journal) -> None:
    journal.create(new(req(), "pay_1"), now=T0)
    with pytest.raises(JournalError), journal._transaction(write=True) as tx:  # type: ignore[attr-defined]
        tx.run("UPDATE pc_events SET type = 'x'")
    with pytest.raises(JournalError), journal._transaction(write=True) as tx:  # type: ignore[attr-defined]
        tx.run("DELETE FROM pc_events")
    assert len(journal.events()) == 1


def test_events_tail_in_order(journal: Journal) -> None:
    for i in range(1, 4):
        journal.create(new(req(i), f"pay_{i}"), now=T0)
    journal.modify(
        "pay_2", lambda _r: [Change(event=EventType.PROGRESS, data={"text": "插卡"})], now=T0
    )
    events = journal.events()
    assert [e.seq for e in events] == sorted(e.seq for e in events)
    assert len(journal.events(after=events[1].seq)) == 2
    mine = journal.events(record_id="pay_2")
    assert [e.type for e in mine] == [EventType.CREATED, EventType.PROGRESS]
    assert mine[1].data == {"text": "插卡"}


def test_find_filters_and_pages(journal: Journal) -> None:
    for i in range(1, 6):
        journal.create(new(req(i), f"pay_{i}", channel="a" if i % 2 else "b"), now=T0)
    journal.modify("pay_3", lambda _r: [Change(to_status=Status.CANCELLED)], now=T0)
    journal.modify(
        "pay_4", lambda _r: [Change(event=EventType.ATTENTION, attention="look")], now=T0
    )
    assert [r.id for r in journal.find(channel="a")] == ["pay_1", "pay_3", "pay_5"]
    assert [r.id for r in journal.find(statuses=[Status.CANCELLED])] == ["pay_3"]
    assert [r.id for r in journal.find(attention=True)] == ["pay_4"]
    assert [r.id for r in journal.find(after_id="pay_2", limit=2)] == ["pay_3", "pay_4"]
    assert journal.find(statuses=[]) == []
    assert journal.count_by_status() == {Status.CREATED: 4, Status.CANCELLED: 1}
    assert journal.get_by_key("key-2").id == "pay_2"  # type: ignore[union-attr]
    assert journal.get_by_key("nope") is None
    with pytest.raises(PaymentNotFound):
        journal.get("pay_404")


def test_refund_cannot_exceed_what_was_taken(journal: Journal) -> None:
    journal.create(new(req(), "pay_1"), now=T0)
    for s in (Status.DISPATCHED, Status.SUCCEEDED):
        journal.modify("pay_1", lambda _r, s=s: [Change(to_status=s)], now=T0)

    def refund(rid: str, amount: str) -> NewRecord:
        r = PaymentRequest(
            payer_id="x", amount=Money(amount, "CNY"), reference="2026", idempotency_key=rid
        )
        return NewRecord(
            id=rid, kind="refund", channel="hall-1", request=r, fingerprint=rid, parent_id="pay_1"
        )

    assert journal.create(refund("rfd_1", "300.00"), now=T0).created
    with pytest.raises(InvalidRequest, match="exceed"):
        journal.create(refund("rfd_2", "80.01"), now=T0)
    assert journal.create(refund("rfd_3", "80.00"), now=T0).created
    assert [r.id for r in journal.find(parent_id="pay_1")] == ["rfd_1", "rfd_3"]


def test_locks_exclude_other_owners_until_expiry(journal: Journal) -> None:
    until = T0 + timedelta(seconds=30)
    assert journal.acquire_lock("term-1", "A", until=until, now=T0)
    assert journal.acquire_lock("term-1", "A", until=until, now=T0)  # renew
    assert not journal.acquire_lock("term-1", "B", until=until, now=T0)
    assert journal.acquire_lock(
        "term-1", "B", until=until + timedelta(60), now=until + timedelta(1)
    )
    journal.release_lock("term-1", "A")  # not the owner any more: no effect
    assert not journal.acquire_lock("term-1", "A", until=until, now=until + timedelta(2))
    assert journal.lock_owner("term-1") == "B"
    journal.release_lock("term-1", "B")
    assert journal.lock_owner("term-1") is None
    assert journal.acquire_lock("term-1", "A", until=until, now=T0)
    assert journal.lock_owner("term-1") == "A"


def test_channel_state_cas_and_counters(journal: Journal) -> None:
    assert journal.state_get("zvt", "last") is None
    assert journal.state_put("zvt", "last", {"receipt": 7}, expected_version=0, now=T0)
    assert not journal.state_put("zvt", "last", {"receipt": 8}, expected_version=0, now=T0)
    entry = journal.state_get("zvt", "last")
    assert entry is not None and entry.value == {"receipt": 7} and entry.version == 1
    assert journal.state_put("zvt", "last", {"receipt": 8}, expected_version=1, now=T0)
    assert not journal.state_put("zvt", "last", {"receipt": 9}, expected_version=1, now=T0)
    assert [journal.state_next("zvt", "trace", now=T0) for _ in range(3)] == [1, 2, 3]
    assert journal.state_next("nexo", "service", now=T0, start=100) == 100


def test_a_marker_is_written_with_a_new_record_only(journal: Journal) -> None:
    """A channel's marker travels with the intent: written in its commit when the record is
    new and the version still holds; a moved version leaves it out, not the record."""
    marker = StateWrite("hall-1", "zvt.terminal", {"pending": "m1"}, 0)
    applied = journal.create(new(req(1), "m1"), now=T0, state=marker)
    assert applied.created and applied.state_written
    entry = journal.state_get("hall-1", "zvt.terminal")
    assert entry is not None and entry.value == {"pending": "m1"} and entry.version == 1
    # the same key again: the record exists, its marker is not written again
    again = journal.create(new(req(1), "m1b"), now=T0, state=replace(marker, expected_version=1))
    assert not again.created and not again.state_written
    # a moved version: the record is journaled, the marker is not
    late = journal.create(new(req(2), "m2"), now=T0, state=replace(marker, value={"p": "m2"}))
    assert late.created and not late.state_written
    assert journal.state_get("hall-1", "zvt.terminal") == entry
    # a refused record takes its marker with it
    with pytest.raises(AlreadyInDoubt):
        journal.create(
            new(req(2, key="k-2b"), "m3"), now=T0, state=replace(marker, expected_version=1)
        )
    assert journal.state_get("hall-1", "zvt.terminal") == entry


@pytest.mark.slow
def test_threads_share_one_journal(journal: Journal) -> None:
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for k in range(10):
                journal.create(new(req(i * 100 + k, key=f"k{i}-{k}"), f"pay_{i}_{k}"), now=T0)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(journal.find(limit=1000)) == 40


def test_unreachable_databases_are_typed_errors(tmp_path: object) -> None:
    with pytest.raises(JournalUnavailable, match="does not exist"):
        open_journal("sqlite:////no/such/folder/j.db")
    with pytest.raises(JournalUnavailable, match="cannot reach PostgreSQL"):
        open_journal("postgresql://nobody@127.0.0.1:1/none")
    bad = f"{tmp_path}/garbage.db"
    with open(bad, "wb") as fh:
        fh.write(b"this is not sqlite" * 100)
    with pytest.raises(JournalUnavailable, match="not a SQLite database"):  # now when opened
        open_journal(f"sqlite:///{bad}", create=True)


def test_create_many_commits_the_good_and_returns_the_refused(journal: Journal) -> None:
    journal.create(new(req(1), "pay_1"), now=T0)
    batch = [
        new(req(2), "pay_2"),
        new(req(1, amount="1.00"), "pay_x"),  # key-1 reused with another amount
        new(req(3), "pay_3"),
        new(req(4, key="key-4b"), "pay_4"),
        new(req(4, key="key-4c"), "pay_5"),  # same payer and reference as pay_4, still open
    ]
    results = journal.create_many(batch, now=T0, then=[Change(to_status=Status.DISPATCHED)])
    kinds = [type(r).__name__ for r in results]
    assert kinds == ["Applied", "IdempotencyConflict", "Applied", "Applied", "AlreadyInDoubt"]
    assert journal.get("pay_2").status is Status.DISPATCHED
    assert sorted(r.id for r in journal.find()) == ["pay_1", "pay_2", "pay_3", "pay_4"]


def test_modify_many_applies_in_one_go(journal: Journal) -> None:
    for i in range(1, 4):
        journal.create(new(req(i), f"pay_{i}"), now=T0, then=[Change(to_status=Status.DISPATCHED)])
    results = journal.modify_many(
        [
            ("pay_3", lambda _r: [Change(to_status=Status.PENDING)]),
            ("pay_1", lambda _r: [Change(to_status=Status.SUCCEEDED)]),
            ("pay_404", lambda _r: [Change(to_status=Status.SUCCEEDED)]),
            ("pay_2", lambda _r: [Change(to_status=Status.REVERSED)]),  # illegal
            (
                "pay_3",
                lambda r: [Change(to_status=Status.EXPIRED)] if r.status is Status.PENDING else [],
            ),
        ],
        now=T0,
    )
    kinds = [type(r).__name__ for r in results]
    assert kinds == ["Applied", "Applied", "PaymentNotFound", "IllegalTransition", "Applied"]
    assert [journal.get(f"pay_{i}").status for i in (1, 2, 3)] == [
        Status.SUCCEEDED,
        Status.DISPATCHED,
        Status.EXPIRED,
    ]
    assert all(journal.verify(f"pay_{i}") == [] for i in (1, 2, 3))


@pytest.mark.slow
def test_annotations_and_changes_on_one_record_never_deadlock(journal: Journal) -> None:
    """A callback hint (append) racing a callback credit (modify) on the same payment.

    Both take the row lock before the event-order lock; an append that took them the other
    way round deadlocked on PostgreSQL (the event's foreign key waits for the row).
    """
    journal.create(new(req(), "pay_race"), now=T0)
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def annotate() -> None:
        start.wait()
        try:
            for _ in range(60):
                journal.append("pay_race", Change(event=EventType.CALLBACK, data={}), now=T0)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def note() -> None:
        start.wait()
        try:
            change = Change(event=EventType.NOTE, data={"text": "x"})
            for _ in range(60):
                journal.modify("pay_race", lambda r: [change], now=T0)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=f) for f in (annotate, note, annotate, note)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(journal.events(record_id="pay_race", limit=1000)) == 1 + 240


def test_annotations_are_stamped_with_their_own_time(journal: Journal) -> None:
    journal.create(new(req(), "pay_1"), now=T0)
    later = T0 + timedelta(hours=5)
    journal.append("pay_1", Change(event=EventType.NOTE, data={"t": "x"}), now=later)
    journal.modify("pay_1", lambda _r: [Change(event=EventType.NOTE)], now=later + timedelta(1))
    assert [e.at for e in journal.events(record_id="pay_1")] == [T0, later, later + timedelta(1)]
