"""Collector behaviour beyond the channel contract: recovery rules, notices, cancel, decisions."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from paychannels import (
    Behaviour,
    Collector,
    ConfigurationError,
    IllegalTransition,
    InvalidRequest,
    JournalUnavailable,
    ManualClock,
    MemoryChannel,
    Money,
    Notice,
    Outcome,
    PaymentRequest,
    Reason,
    Status,
)
from paychannels.journal import Change, Claim
from paychannels.values.models import EventType


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def col(tmp_path: Path, clock: ManualClock) -> Iterator[Collector]:
    c = Collector.open(f"sqlite:///{tmp_path}/j.db", clock=clock, create=True)
    c.add_channel("hall-1", MemoryChannel())
    yield c
    c.close()


def mem(col: Collector) -> MemoryChannel:
    ch = col.channel("hall-1")
    assert isinstance(ch, MemoryChannel)
    return ch


def req(i: int = 1, amount: str = "100.00") -> PaymentRequest:
    return PaymentRequest(
        payer_id=f"P{i}", amount=Money(amount, "CNY"), reference="2026", idempotency_key=f"k{i}"
    )


def test_unknown_channel_and_bad_names_are_configuration_errors(col: Collector) -> None:
    with pytest.raises(ConfigurationError, match="added channels: hall-1"):
        col.collect(req(), channel="hall-2")
    with pytest.raises(ConfigurationError, match="letters"):
        col.add_channel("hall 1", MemoryChannel())
    with pytest.raises(TypeError):
        col.collect({"payer_id": "x"}, channel="hall-1")  # type: ignore[arg-type]


def test_open_refuses_a_place_without_a_journal(tmp_path: Path) -> None:
    # was SchemaOutdated (an empty file left behind); creation is now only on request
    with pytest.raises(JournalUnavailable, match="no journal at"):
        Collector.open(f"sqlite:///{tmp_path}/fresh.db", migrate=False)
    assert not (tmp_path / "fresh.db").exists()


def test_unknown_too_long_needs_attention(col: Collector, clock: ManualClock) -> None:
    mem(col).script("lose_reply")
    p = col.collect(req(), channel="hall-1")
    mem(col).inquiry_down = True
    report = col.recover()
    assert report.still_in_doubt == [p.id]
    assert col.status(p.id).status is Status.UNKNOWN
    clock.advance(hours=25)
    report = col.recover()
    assert report.needs_attention == [p.id]
    done = col.status(p.id)
    assert done.status is Status.NEEDS_ATTENTION and done.reason is Reason.RECOVERY_DEADLINE
    # the device comes back: a definitive answer resolves it and clears the flag
    mem(col).inquiry_down = False
    col.recover()  # NEEDS_ATTENTION is not in doubt: a person (or a notice) decides
    assert col.status(p.id).status is Status.NEEDS_ATTENTION
    settled = col.settle_manually(p.id, Status.SUCCEEDED, operator="王会计", note="slip 0042 seen")
    assert settled.status is Status.SUCCEEDED and settled.attention is None
    assert col.events(payment_id=p.id)[-1].data["operator"] == "王会计"


def test_in_flight_dispatch_of_a_live_process_is_left_alone(
    col: Collector, clock: ManualClock
) -> None:
    p = col.collect(req(), channel="hall-1", defer=True)
    live = Claim(col.owner, clock.now() + timedelta(minutes=5))
    col.journal.modify(
        p.id, lambda _r: [Change(to_status=Status.DISPATCHED, claim=live)], now=clock.now()
    )
    assert col.recover().in_flight == [p.id]
    clock.advance(minutes=6)  # the lease ran out: now it is recovered
    report = col.recover()
    assert report.resolved == {"NOT_SENT": 1}  # the device never saw it
    assert col.status(p.id).status is Status.NOT_SENT


def test_dead_claimant_on_this_host_is_recovered_at_once(
    col: Collector, clock: ManualClock
) -> None:
    p = col.collect(req(), channel="hall-1", defer=True)
    host = col.owner.split("/")[0]
    dead = Claim(f"{host}/999999999/deadbeef", clock.now() + timedelta(hours=1))
    col.journal.modify(
        p.id, lambda _r: [Change(to_status=Status.DISPATCHED, claim=dead)], now=clock.now()
    )
    assert col.recover().resolved == {"NOT_SENT": 1}


def test_channel_not_added_is_skipped(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/j.db"
    with Collector.open(url, create=True) as a:
        a.add_channel("hall-1", MemoryChannel(default=Behaviour.LOSE_REPLY))
        a.collect(req(), channel="hall-1")
    with Collector.open(url) as b:  # the same journal, reopened
        report = b.recover()
        assert list(report.skipped.values()) == ["channel 'hall-1' is not added"]


def test_unverified_notice_only_triggers_a_query(col: Collector) -> None:
    mem(col).script("pending")
    p = col.collect(req(), channel="hall-1")
    forged = Notice(payment_id=p.id, outcome=Outcome.succeeded(), verified=False, source="callback")
    assert col.handle_notice("hall-1", forged).status is Status.PENDING  # type: ignore[union-attr]
    types = [e.type for e in col.events(payment_id=p.id)]
    assert EventType.CALLBACK not in types, "a hint is not journaled (a flood costs no writes)"
    assert col.callback_counts.snapshot()["queries"] == 1
    # the query the hint triggered finds the truth once the payer really pays
    real = mem(col).settle(p.id, paid=True, verified=False)
    assert col.handle_notice("hall-1", real).status is Status.SUCCEEDED  # type: ignore[union-attr]


def test_unverified_notice_for_a_settled_payment_asks_nothing(col: Collector) -> None:
    p = col.collect(req(), channel="hall-1")
    assert p.status is Status.SUCCEEDED
    mem(col).inquiry_down = True  # any inquiry would now fail and be noted
    forged = Notice(payment_id=p.id, outcome=Outcome.declined(Reason.ORDER_CLOSED), source="cb")
    after = col.handle_notice("hall-1", forged)
    assert after is not None and after.status is Status.SUCCEEDED and not after.attention
    assert not [e for e in col.events(payment_id=p.id) if e.type is EventType.CALLBACK]
    counts = col.callback_counts.snapshot()
    assert counts["hints"] == 1 and counts["queries"] == 0
    notes = [e for e in col.events(payment_id=p.id) if e.type is EventType.NOTE]
    assert notes == [], "no inquiry was attempted"


def test_notice_with_wrong_amount_credits_nothing(col: Collector) -> None:
    mem(col).script("pending")
    p = col.collect(req(), channel="hall-1")
    bad = Notice(
        payment_id=p.id,
        outcome=Outcome.succeeded(),
        verified=True,
        amount=Money("1.00", "CNY"),
        source="callback",
    )
    after = col.handle_notice("hall-1", bad)
    assert after is not None and after.status is Status.NEEDS_ATTENTION
    assert after.reason is Reason.AMOUNT_MISMATCH and after.amount_taken is None


def test_duplicate_notices_credit_once(col: Collector) -> None:
    mem(col).script("pending")
    p = col.collect(req(), channel="hall-1")
    notice = mem(col).settle(p.id, paid=True)
    for _ in range(5):
        col.handle_notice("hall-1", notice)
    moves = [e for e in col.events(payment_id=p.id) if e.to_status is Status.SUCCEEDED]
    assert len(moves) == 1
    assert col.handle_notice("hall-1", Notice(payment_id="pay_nope", verified=True)) is None


def test_late_decline_after_success_is_flagged_not_applied(col: Collector) -> None:
    p = col.collect(req(), channel="hall-1")
    late = Notice(
        payment_id=p.id,
        outcome=Outcome.declined(Reason.ORDER_CLOSED),
        verified=True,
        source="callback",
    )
    after = col.handle_notice("hall-1", late)
    assert after is not None and after.status is Status.SUCCEEDED
    assert after.attention and "after the payment succeeded" in after.attention


def test_cancel_paths(col: Collector) -> None:
    deferred = col.collect(req(1), channel="hall-1", defer=True)
    assert col.cancel(deferred.id).status is Status.CANCELLED
    mem(col).script("lose_reply")
    unknown = col.collect(req(2), channel="hall-1")
    with pytest.raises(IllegalTransition, match="recover"):
        col.cancel(unknown.id)
    mem(col).script("decline")
    d = col.collect(req(4), channel="hall-1")
    with pytest.raises(IllegalTransition, match="nothing to cancel"):
        col.cancel(d.id)


def test_refund_rules(col: Collector) -> None:
    mem(col).script("decline")
    d = col.collect(req(1), channel="hall-1")
    with pytest.raises(IllegalTransition, match="only SUCCEEDED"):
        col.refund(d.id)
    p = col.collect(req(2), channel="hall-1")
    r = col.refund(p.id)
    with pytest.raises(InvalidRequest, match="a refund"):
        col.refund(r.id)
    with pytest.raises(InvalidRequest, match="nothing left"):
        col.refund(p.id, idempotency_key="again")


def test_subscriber_errors_do_not_break_collection(col: Collector) -> None:
    def broken(_event: object) -> None:
        raise RuntimeError("backend bug")

    col.subscribe(broken)
    assert col.collect(req(), channel="hall-1").status is Status.SUCCEEDED


def test_channel_bug_after_dispatch_is_unknown_not_failed(col: Collector) -> None:
    def explode(_record: object) -> Behaviour:
        raise ZeroDivisionError("adapter bug")

    mem(col).rules.append(explode)  # type: ignore[arg-type]
    p = col.collect(req(), channel="hall-1")
    assert p.status is Status.UNKNOWN and "ZeroDivisionError" in (p.reason_detail or "")


def test_progress_and_receipt_are_journaled(col: Collector) -> None:
    p = col.collect(req(), channel="hall-1")
    events = col.events(payment_id=p.id)
    assert EventType.PROGRESS in [e.type for e in events]
    assert p.channel_data["receipt"][0].startswith("MEMORY DEVICE")  # type: ignore[index]
    assert events[-1].to_status is Status.SUCCEEDED
    assert events[-1].data["receipt"] == p.channel_data["receipt"]


def test_dispatch_pending_sends_deferred_payments(col: Collector) -> None:
    ids = [col.collect(req(i), channel="hall-1", defer=True).id for i in range(3)]
    done = col.dispatch_pending()
    assert sorted(r.id for r in done) == sorted(ids)
    assert all(col.status(i).status is Status.SUCCEEDED for i in ids)
    assert col.dispatch_pending() == []


class BatchDevice(MemoryChannel):
    """A memory device that takes a whole batch at once, like a bank request file."""

    capabilities = replace(MemoryChannel.capabilities, batch=True)

    def __init__(self) -> None:
        super().__init__(default=Behaviour.PENDING)
        self.batches: list[int] = []

    def start_batch(self, payments, ctx):  # type: ignore[no-untyped-def]
        self.batches.append(len(payments))
        return [self._outcome(self._act(p, Behaviour.PENDING)) for p in payments]


@pytest.mark.slow
def test_collect_many_on_a_batch_channel(tmp_path: Path) -> None:
    with Collector.open(f"sqlite:///{tmp_path}/j.db", create=True) as col:
        device = BatchDevice()
        col.add_channel("bank", device)
        requests = [req(i) for i in range(2500)] + [req(7, amount="1.00")]
        results = col.collect_many(requests, channel="bank")
        assert device.batches == [1000, 1000, 500]
        assert {r.status for r in results[:-1]} == {Status.PENDING}  # type: ignore[union-attr]
        assert type(results[-1]).__name__ == "IdempotencyConflict"
        notices = [device.settle(r.id, paid=i % 10 != 0) for i, r in enumerate(results[:-1])]
        applied = col.handle_notices("bank", notices)
        assert sum(r.status is Status.SUCCEEDED for r in applied if r) == 2250
        assert col.journal.count_by_status() == {Status.SUCCEEDED: 2250, Status.DECLINED: 250}


def test_dispatch_pending_sends_a_batch(tmp_path: Path) -> None:
    with Collector.open(f"sqlite:///{tmp_path}/j.db", create=True) as col:
        device = BatchDevice()
        col.add_channel("bank", device)
        col.collect_many([req(i) for i in range(30)], channel="bank", defer=True)
        assert device.batches == []
        assert len(col.dispatch_pending(channel="bank")) == 30
        assert device.batches == [30]


class ReportingDevice(BatchDevice):
    """A batch device whose results come back as one bulk report."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting: list[object] = []
        self.acknowledged: list[object] = []

    def poll(self, ctx):  # type: ignore[no-untyped-def]
        return []

    def reports(self, ctx):  # type: ignore[no-untyped-def]
        from paychannels.values.results import Report, ResultRow

        device = self

        class Rows(Report):
            source = "results.txt"

            def rows(self):  # type: ignore[no-untyped-def]
                for pid in device.waiting:
                    yield ResultRow(pid, Status.SUCCEEDED, taken_minor=5000)  # type: ignore[arg-type]

            def applied(self, summary):  # type: ignore[no-untyped-def]
                device.acknowledged.append(summary)

        yield Rows()


def test_poll_applies_bulk_reports_and_acknowledges_them(tmp_path: Path) -> None:
    with Collector.open(f"sqlite:///{tmp_path}/j.db", create=True) as col:
        device = ReportingDevice()
        col.add_channel("bank", device)
        results = col.collect_many([req(i) for i in range(5)], channel="bank")
        device.waiting = [r.id for r in results]  # type: ignore[union-attr]
        polled = col.poll("bank")
        assert list(polled) == []
        assert [s.moved for s in polled.reports] == [{"SUCCEEDED": 5}]
        assert device.acknowledged == polled.reports
        taken = {col.status(r.id).amount_taken for r in results}  # type: ignore[union-attr]
        assert taken == {Money("50.00", "CNY")}
        assert col.poll("bank").reports[0].unchanged == 5


def test_unknown_the_channel_still_holds_does_not_escalate(
    col: Collector, clock: ManualClock
) -> None:
    mem(col).script("lose_request")
    p = col.collect(req(), channel="hall-1")
    assert p.status is Status.UNKNOWN
    # the device received it after all and is still working on it (a debit in a sent file)
    from paychannels.channels.ledger import LedgerEntry

    mem(col).ledger.record(
        LedgerEntry(key=p.id, status="PENDING", amount_minor=10000, currency="CNY", ref="m-1")
    )
    for _ in range(3):
        clock.advance(hours=20)
        report = col.recover()
        assert report.still_in_doubt == [p.id]
    # asked, the channel says it holds it: PENDING (one appended event), awaiting its result
    assert col.status(p.id).status is Status.PENDING
    moves = [(e.from_status, e.to_status) for e in col.events(payment_id=p.id)]
    assert moves.count((Status.UNKNOWN, Status.PENDING)) == 1, moves
    # a channel that stops answering leaves it PENDING: the attention deadline is UNKNOWN's
    mem(col).inquiry_down = True
    clock.advance(hours=48)
    assert col.recover().still_in_doubt == [p.id]
    assert col.status(p.id).status is Status.PENDING


def test_an_unknown_of_a_journal_before_the_pending_edge_still_waits_for_its_channel(
    col: Collector, clock: ManualClock
) -> None:
    """Journals written before UNKNOWN -> PENDING hold "the channel holds it" as a note,
    which restarts recovery's deadline; the next question moves it to PENDING."""
    mem(col).script("lose_request")
    p = col.collect(req(), channel="hall-1")
    clock.advance(hours=20)
    note = {"via": "recovery inquiry", "channel_holds_it": True}
    col.journal.modify(p.id, lambda _r: [Change(event=EventType.NOTE, data=note)], now=clock.now())
    clock.advance(hours=20)  # 40 h since UNKNOWN, 20 h since the channel's word
    mem(col).inquiry_down = True
    assert col.recover().still_in_doubt == [p.id]
    assert col.status(p.id).status is Status.UNKNOWN


def test_recover_leaves_pending_batch_debits_to_poll(tmp_path: Path) -> None:
    with Collector.open(f"sqlite:///{tmp_path}/j.db", create=True) as col:
        device = BatchDevice()
        col.add_channel("bank", device)
        col.collect_many([req(i) for i in range(20)], channel="bank")
        before = len(col.events())
        report = col.recover()
        assert report.examined == 0 and len(col.events()) == before


def test_recovery_inquiry_that_changes_nothing_writes_nothing(col: Collector) -> None:
    mem(col).script("pending")
    p = col.collect(req(), channel="hall-1")
    before = col.events()
    assert col.recover().still_in_doubt == [p.id]
    assert col.events() == before
