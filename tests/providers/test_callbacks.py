"""Callback handling end to end over real HTTP: simulator → ASGI/WSGI app → journal.

Duplicates credit once and are acknowledged each time (also two at once); states only move
forward; amount, app id and merchant id mismatches raise attention and credit nothing; a
callback that fails verification changes nothing but makes us ask; an order whose callback
never comes is resolved by ``recover()``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from paychannels import ManualClock, Reason, Status
from paychannels.simulators.provider import SimKeys
from paychannels.simulators.provider.messages import alipay_trade
from paychannels.values.models import EventType
from tests.contract.harnesses.mobile import sim_keys
from tests.providers.support import PROVIDER, Stack


@pytest.fixture(scope="module")
def keys() -> SimKeys:
    return sim_keys()


@pytest.fixture(params=["asgi", "wsgi"])
def stack(request: pytest.FixtureRequest, keys: SimKeys, tmp_path: Path) -> Iterator[Stack]:
    s = Stack.build(keys, f"sqlite:///{tmp_path}/j.db", asgi=request.param == "asgi")
    try:
        yield s
    finally:
        s.close()


def credits(stack: Stack, payment_id: str) -> int:
    events = stack.collector.events(payment_id=payment_id)
    return sum(1 for e in events if e.to_status is Status.SUCCEEDED)


@pytest.mark.parametrize("channel", ["wx", "ali"])
@pytest.mark.slow
def test_duplicates_credit_once_and_are_acknowledged_each_time(stack: Stack, channel: str) -> None:
    provider = PROVIDER[channel]
    p = stack.order(channel, f"dup-{channel}")
    assert p.status is Status.PENDING
    stack.sim.pay(provider, p.id)
    attempts = [stack.sim.deliver(provider, p.id) for _ in range(3)]
    with ThreadPoolExecutor(8) as pool:  # the same notification at once, separate connections
        attempts += list(pool.map(lambda _: stack.sim.deliver(provider, p.id), range(8)))
    assert all(a.accepted for a in attempts), attempts
    assert stack.collector.status(p.id).status is Status.SUCCEEDED
    assert credits(stack, p.id) == 1
    assert stack.sim.charges(p.id) == 1


@pytest.mark.slow
def test_late_closed_or_finished_never_undoes_paid(stack: Stack) -> None:
    p = stack.order("ali", "late-ali")
    stack.sim.pay("alipay", p.id)
    assert stack.sim.deliver("alipay", p.id).accepted
    order = stack.sim.book.get("alipay", p.id)
    assert order is not None
    # TRADE_FINISHED months later: paid still, nothing changes
    stack.sim.finish("alipay", p.id)  # auto_notify is off: deliver by hand below
    finished = stack.sim._alipay_note(
        order, {**alipay_trade(order), "trade_status": "TRADE_FINISHED"}
    )
    assert stack.sim.notifier.deliver(finished).accepted
    # a genuine-looking TRADE_CLOSED without payment: a contradiction, flagged, not applied
    closed = {k: v for k, v in alipay_trade(order).items() if k not in ("gmt_payment",)}
    note = stack.sim._alipay_note(order, {**closed, "trade_status": "TRADE_CLOSED"})
    assert stack.sim.notifier.deliver(note).accepted
    after = stack.collector.status(p.id)
    assert after.status is Status.SUCCEEDED and credits(stack, p.id) == 1
    assert after.attention and "after the payment succeeded" in after.attention


@pytest.mark.parametrize("channel", ["wx", "ali"])
@pytest.mark.slow
def test_amount_mismatch_raises_attention_and_credits_nothing(stack: Stack, channel: str) -> None:
    provider = PROVIDER[channel]
    p = stack.order(channel, f"amt-{channel}")
    order = stack.sim.book.get(provider, p.id)
    assert order is not None
    stack.sim.pay(provider, p.id)
    order.amount_minor = 1  # the provider says ¥0.01 was the order
    assert stack.sim.deliver(provider, p.id).accepted, "a genuine callback is acknowledged"
    after = stack.collector.status(p.id)
    assert after.status is Status.NEEDS_ATTENTION
    assert after.reason is Reason.AMOUNT_MISMATCH and after.amount_taken is None
    assert credits(stack, p.id) == 0


@pytest.mark.parametrize(
    ("channel", "field", "value"),
    [("wx", "appid", "wx0000000000000000"), ("wx", "mchid", "1900000000"),
     ("ali", "alipay_app_id", "2021000000000000"), ("ali", "alipay_seller_id", "2088000000000000")],
)  # fmt: skip
@pytest.mark.slow
def test_app_or_merchant_mismatch_raises_attention(
    stack: Stack, keys: SimKeys, channel: str, field: str, value: str
) -> None:
    provider = PROVIDER[channel]
    p = stack.order(channel, f"mm-{field}")
    stack.sim.pay(provider, p.id)
    stack.sim.keys = dataclasses.replace(keys, **{field: value})  # signed right, says other ids
    try:
        assert stack.sim.deliver(provider, p.id).accepted
    finally:
        stack.sim.keys = keys
    after = stack.collector.status(p.id)
    assert after.status is Status.NEEDS_ATTENTION
    assert after.reason is Reason.MERCHANT_MISMATCH and credits(stack, p.id) == 0


@pytest.mark.parametrize("channel", ["wx", "ali"])
@pytest.mark.slow
def test_a_forged_callback_changes_nothing_and_asks_nothing(stack: Stack, channel: str) -> None:
    provider = PROVIDER[channel]
    unpaid = stack.order(channel, f"forge-a-{channel}")
    stack.sim.book.open(provider, unpaid.id)
    forged = stack.sim.deliver(provider, unpaid.id, variant="forged")
    assert not forged.accepted and forged.status in (401, 400)
    assert stack.collector.status(unpaid.id).status is Status.PENDING
    types = [e.type for e in stack.collector.events(payment_id=unpaid.id)]
    assert EventType.CALLBACK not in types, "a forgery is not journaled"
    # paid at the provider, genuine callback not here yet: a forgery still asks nothing
    paid = stack.order(channel, f"forge-b-{channel}")
    stack.sim.pay(provider, paid.id)
    assert not stack.sim.deliver(provider, paid.id, variant="forged").accepted
    assert stack.collector.status(paid.id).status is Status.PENDING
    assert stack.sim.book.queries[paid.id] == 0


@pytest.mark.slow
def test_a_stale_genuine_callback_makes_us_ask(stack: Stack) -> None:
    paid = stack.order("wx", "stale-paid")
    stack.sim.pay("wechatpay", paid.id)
    assert stack.sim.deliver("wechatpay", paid.id, variant="stale").status == 401
    after = stack.collector.status(paid.id)
    assert after.status is Status.SUCCEEDED, "the query found the truth"
    last = [e for e in stack.collector.events(payment_id=paid.id) if e.to_status][-1]
    assert last.data["via"] == "inquiry after unverified notice"


@pytest.mark.slow
def test_probe_is_refused_without_crashing(stack: Stack) -> None:
    p = stack.order("wx", "probe")
    stack.sim.pay("wechatpay", p.id)
    probe = stack.sim.deliver("wechatpay", p.id, variant="probe")
    assert probe.status == 401 and not probe.accepted
    stale = stack.sim.deliver("wechatpay", p.id, variant="stale")
    assert stale.status == 401
    assert stack.sim.deliver("wechatpay", p.id).accepted
    assert credits(stack, p.id) == 1


@pytest.mark.parametrize("channel", ["wx", "ali"])
@pytest.mark.slow
def test_recover_resolves_orders_whose_callback_never_comes(
    keys: SimKeys, tmp_path: Path, channel: str
) -> None:
    clock = ManualClock(datetime.now(UTC))  # the simulator runs on real time
    stack = Stack.build(keys, f"sqlite:///{tmp_path}/r.db", clock=clock, expire_minutes=30)
    try:
        provider = PROVIDER[channel]
        paid = stack.order(channel, "paid")
        abandoned = stack.order(channel, "gone")
        stack.sim.pay(provider, paid.id)  # no callback is ever delivered
        report = stack.collector.recover()
        assert report.resolved == {"SUCCEEDED": 1}
        assert report.still_in_doubt == [abandoned.id]
        clock.advance(minutes=32)  # past the expiry and its grace
        report = stack.collector.recover()
        assert report.resolved == {"EXPIRED": 1}
        assert stack.collector.status(abandoned.id).status is Status.EXPIRED
        assert stack.sim.charges(abandoned.id) == 0
    finally:
        stack.close()


@pytest.mark.slow
def test_recover_closes_an_order_whose_create_answer_was_lost(stack: Stack) -> None:
    stack.sim.script.fault("lose_reply")
    p = stack.order("wx", "lost-answer")
    assert p.status is Status.UNKNOWN
    report = stack.collector.recover()
    # the payer never saw the QR code: the order is closed so it can never be paid
    assert report.resolved == {"DECLINED": 1}
    after = stack.collector.status(p.id)
    assert after.reason is Reason.ORDER_CLOSED
    order = stack.sim.book.get("wechatpay", p.id)
    assert order is not None and order.status.value == "closed"


@pytest.mark.slow
def test_refund_callback_is_applied(stack: Stack) -> None:
    stack.sim.auto_notify = True
    try:
        p = stack.order("wx", "refund-cb")
        stack.sim.pay("wechatpay", p.id)
        assert stack.sim.notifier.wait_idle(10)
        refund = stack.collector.refund(p.id, stack.collector.status(p.id).amount)
        assert stack.sim.notifier.wait_idle(10)
    finally:
        stack.sim.auto_notify = False
    assert refund.status is Status.SUCCEEDED
    attempts = [a for a in stack.sim.notifier.attempts() if a.number == refund.id]
    assert attempts and all(a.accepted for a in attempts)
    assert stack.collector.status(refund.id).status is Status.SUCCEEDED


@pytest.mark.slow
def test_http_wrong_method_and_unknown_channel(stack: Stack) -> None:
    assert httpx.get(stack.served.url("/callbacks/wx")).status_code == 405
    assert httpx.post(stack.served.url("/callbacks/nope"), content=b"x").status_code == 404
    assert httpx.post(stack.served.url("/elsewhere"), content=b"x").status_code == 404


@pytest.mark.slow
def test_expiry_is_fixed_by_the_payment(stack: Stack) -> None:
    p = stack.order("ali", "expiry")
    expires = stack.channel("ali").expires_at(p)
    assert expires - p.created_at == timedelta(minutes=120)
    assert p.channel_data["expires_at"] == expires.isoformat()
