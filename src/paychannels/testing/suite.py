"""The channel contract: the same tests, by the same names, for every channel adapter.

Import everything into a test module that also defines a ``harness`` fixture (see
``paychannels.testing``); pytest then runs each test against that harness's channel, judged by
its device's ledger. A test whose behaviour the device cannot be scripted with is skipped.
"""

from __future__ import annotations

import itertools
import logging

import pytest

from paychannels import (
    AlreadyInDoubt,
    Collector,
    Event,
    EventType,
    IdempotencyConflict,
    InvalidRequest,
    Money,
    Payment,
    PaymentRequest,
    Reason,
    Record,
    Status,
    UnsupportedOperation,
)
from paychannels.testing.fixtures import CHANNEL, collector
from paychannels.testing.harness import Harness

__all__ = [
    "collector",
    "test_cancel_unfinished_payment",
    "test_capabilities_are_honest",
    "test_declined_payment",
    "test_events_reach_subscribers",
    "test_garbled_reply_is_unknown",
    "test_idempotency_conflict",
    "test_idempotent_retry",
    "test_insufficient_funds_reason",
    "test_lost_request_resolves_to_not_sent_and_retries",
    "test_not_sent_is_safe_to_retry",
    "test_partial_refund",
    "test_refund",
    "test_second_attempt_blocked_while_in_doubt",
    "test_successful_payment",
    "test_transcripts_and_logs_are_scrubbed",
    "test_unknown_outcome_then_inquire",
    "test_void_succeeded_payment",
]

_keys = itertools.count(1)


def payment_request(
    harness: Harness, amount: str = "380.00", *, key: str | None = None
) -> PaymentRequest:
    n = next(_keys)
    request = PaymentRequest(
        payer_id=f"15042219900101{n:04d}",
        amount=Money(amount, harness.currency),
        reference="2026-养老保险",
        idempotency_key=key or f"contract-{n}",
        payer_name="张三",
        description="城乡居民养老保险 2026",
    )
    return harness.prepare(request)


def needs(harness: Harness, *behaviours: str) -> None:
    missing = [b for b in behaviours if b not in harness.supports]
    if missing:
        pytest.skip(f"{harness.name} peer cannot be scripted to {', '.join(missing)}")


def pay(collector: Collector, harness: Harness, req: PaymentRequest) -> Record:
    """Collect and, for asynchronous channels, let the payer complete."""
    p = collector.collect(req, channel=CHANNEL)
    if p.status is Status.PENDING:
        harness.finish_pending(collector, p, paid=True)
    return collector.status(p.id)


def test_successful_payment(collector: Collector, harness: Harness) -> None:
    needs(harness, "approve")
    harness.script("approve")
    req = payment_request(harness)
    p = pay(collector, harness, req)
    assert p.status is Status.SUCCEEDED
    assert p.amount_taken == req.amount
    assert p.channel_ref
    assert harness.charges(p) == 1
    moves = [(e.from_status, e.to_status) for e in collector.events(payment_id=p.id) if e.to_status]
    assert moves[:2] == [(None, Status.CREATED), (Status.CREATED, Status.DISPATCHED)]
    assert moves[-1][1] is Status.SUCCEEDED
    assert collector.journal.verify(p.id) == []


def test_declined_payment(collector: Collector, harness: Harness) -> None:
    needs(harness, "decline")
    harness.script("decline")
    p: Record = collector.collect(payment_request(harness), channel=CHANNEL)
    if p.status is Status.PENDING:
        harness.finish_pending(collector, p, paid=False)
        p = collector.status(p.id)
    assert p.status is Status.DECLINED
    assert p.reason is not None and p.reason_detail
    assert p.amount_taken is None
    assert harness.charges(p) == 0


def test_insufficient_funds_reason(collector: Collector, harness: Harness) -> None:
    needs(harness, "insufficient_funds")
    harness.script("insufficient_funds")
    p: Record = collector.collect(payment_request(harness), channel=CHANNEL)
    if p.status is Status.PENDING:  # asynchronous channels (a bank) answer later
        harness.finish_pending(collector, p, paid=False)
        p = collector.status(p.id)
    assert p.status is Status.DECLINED
    assert p.reason is Reason.INSUFFICIENT_FUNDS


def test_unknown_outcome_then_inquire(collector: Collector, harness: Harness) -> None:
    needs(harness, "lose_reply")
    harness.script("lose_reply")
    p: Record = collector.collect(payment_request(harness), channel=CHANNEL)
    assert p.status is Status.UNKNOWN, "a lost answer is UNKNOWN, never FAILED"
    report = collector.recover()
    assert report.resolved == {"SUCCEEDED": 1}
    p = collector.status(p.id)
    assert p.status is Status.SUCCEEDED
    assert harness.charges(p) == 1


def test_garbled_reply_is_unknown(collector: Collector, harness: Harness) -> None:
    needs(harness, "garble_reply")
    harness.script("garble_reply")
    p = collector.collect(payment_request(harness), channel=CHANNEL)
    assert p.status is Status.UNKNOWN
    collector.recover()
    assert collector.status(p.id).status is Status.SUCCEEDED
    assert harness.charges(p) == 1


def test_lost_request_resolves_to_not_sent_and_retries(
    collector: Collector, harness: Harness
) -> None:
    needs(harness, "lose_request", "approve")
    harness.script("lose_request")
    req = payment_request(harness)
    p = collector.collect(req, channel=CHANNEL)
    assert p.status is Status.UNKNOWN
    collector.recover()
    assert collector.status(p.id).status is Status.NOT_SENT
    harness.script("approve")
    again = collector.collect(req, channel=CHANNEL)
    assert again.id == p.id
    assert pay_done(collector, harness, again).status is Status.SUCCEEDED
    assert harness.charges(again) == 1
    assert collector.status(p.id).attempt == 2


def pay_done(collector: Collector, harness: Harness, p: Record) -> Record:
    if p.status is Status.PENDING:
        harness.finish_pending(collector, p, paid=True)
    return collector.status(p.id)


def test_not_sent_is_safe_to_retry(collector: Collector, harness: Harness) -> None:
    needs(harness, "refuse", "approve")
    harness.script("refuse")
    req = payment_request(harness)
    p = collector.collect(req, channel=CHANNEL)
    assert p.status is Status.NOT_SENT
    assert harness.charges(p) == 0
    harness.script("approve")
    again = pay_done(collector, harness, collector.collect(req, channel=CHANNEL))
    assert again.id == p.id and again.status is Status.SUCCEEDED
    assert harness.charges(again) == 1


def test_idempotent_retry(collector: Collector, harness: Harness) -> None:
    needs(harness, "approve")
    harness.script("approve")
    req = payment_request(harness)
    p = pay(collector, harness, req)
    events = collector.events()
    again = collector.collect(req, channel=CHANNEL)
    assert again.id == p.id and again.status is Status.SUCCEEDED
    assert harness.charges(p) == 1
    assert collector.events() == events, "a retry journals nothing new"


def test_idempotency_conflict(collector: Collector, harness: Harness) -> None:
    needs(harness, "approve")
    harness.script("approve")
    req = payment_request(harness)
    pay(collector, harness, req)
    changed = req.model_copy(update={"amount": Money("1.00", harness.currency)})
    with pytest.raises(IdempotencyConflict):
        collector.collect(changed, channel=CHANNEL)


def test_second_attempt_blocked_while_in_doubt(collector: Collector, harness: Harness) -> None:
    needs(harness, "lose_reply")
    harness.script("lose_reply")
    req = payment_request(harness)
    p = collector.collect(req, channel=CHANNEL)
    other = req.model_copy(update={"idempotency_key": req.idempotency_key + "-b"})
    with pytest.raises(AlreadyInDoubt) as info:
        collector.collect(other, channel=CHANNEL)
    assert info.value.payment_id == p.id
    assert harness.charges(p) == 1


def test_refund(collector: Collector, harness: Harness) -> None:
    ch = collector.channel(CHANNEL)
    if not ch.capabilities.refund:
        with pytest.raises(UnsupportedOperation):
            ch.refund(None, None, None)  # type: ignore[arg-type]
        return
    harness.script("approve")
    p = pay(collector, harness, payment_request(harness))
    harness.script("approve")
    refund = collector.refund(p.id)
    if refund.status is Status.PENDING:
        collector.recover()
        refund = collector.status(refund.id)  # type: ignore[assignment]
    assert refund.status is Status.SUCCEEDED
    assert refund.parent_id == p.id and refund.amount == p.amount
    assert harness.refunded(p) == p.amount
    assert collector.refund(p.id, p.amount).id == refund.id, "a repeated refund is a retry"
    assert collector.status(p.id).status is Status.SUCCEEDED


def test_partial_refund(collector: Collector, harness: Harness) -> None:
    ch = collector.channel(CHANNEL)
    if not ch.capabilities.partial_refund:
        pytest.skip(f"{harness.name} has no partial refunds")
    harness.script("approve")
    p = pay(collector, harness, payment_request(harness, "100.00"))
    for _ in range(2):
        harness.script("approve")
        collector.refund(p.id, Money("30.00", harness.currency), idempotency_key=f"r-{next(_keys)}")
    with pytest.raises(InvalidRequest, match="exceed"):
        collector.refund(p.id, Money("40.01", harness.currency))
    assert harness.refunded(p) == Money("60.00", harness.currency)


def test_cancel_unfinished_payment(collector: Collector, harness: Harness) -> None:
    needs(harness, "pending")
    if not collector.channel(CHANNEL).capabilities.cancel:
        pytest.skip(f"{harness.name} cannot cancel")
    harness.script("pending")
    p = collector.collect(payment_request(harness), channel=CHANNEL)
    assert p.status is Status.PENDING
    closed = collector.cancel(p.id)
    assert closed.status is Status.EXPIRED
    assert harness.charges(p) == 0


def test_void_succeeded_payment(collector: Collector, harness: Harness) -> None:
    if not collector.channel(CHANNEL).capabilities.void:
        pytest.skip(f"{harness.name} cannot void")
    harness.script("approve")
    p = pay(collector, harness, payment_request(harness))
    assert collector.cancel(p.id).status is Status.REVERSED


def test_events_reach_subscribers(collector: Collector, harness: Harness) -> None:
    seen: list[Event] = []
    unsubscribe = collector.subscribe(seen.append)
    harness.script("approve")
    p = pay(collector, harness, payment_request(harness))
    unsubscribe()
    assert seen == collector.events(payment_id=p.id)
    assert any(e.type is EventType.STATUS for e in seen)


def test_capabilities_are_honest(collector: Collector, harness: Harness) -> None:
    ch = collector.channel(CHANNEL)
    harness.script("approve")
    p = pay(collector, harness, payment_request(harness))
    assert isinstance(p, Payment)
    if not ch.capabilities.inquire:
        with pytest.raises(UnsupportedOperation):
            ch.inquire(p, None)  # type: ignore[arg-type]
    if not ch.capabilities.void:
        with pytest.raises(UnsupportedOperation):
            ch.void(p, None)  # type: ignore[arg-type]


def test_transcripts_and_logs_are_scrubbed(
    collector: Collector, harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    harness.script("lose_reply" if "lose_reply" in harness.supports else "approve")
    req = payment_request(harness)
    collector.collect(req, channel=CHANNEL)
    collector.recover()
    text = harness.transcript() + "\n".join(r.getMessage() for r in caplog.records)
    for secret in [*harness.secrets(), req.payer_id]:
        assert secret not in text
    sample = "card 6222021234567890123 id 150422199001011234 api_key=abc123"
    scrubbed = collector.channel(CHANNEL).scrub(sample)
    assert "6222021234567890123" not in scrubbed
    assert "150422199001011234" not in scrubbed
    assert "abc123" not in scrubbed
