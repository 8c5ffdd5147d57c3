"""Hostile callback traffic through the real ASGI app (uvicorn on 127.0.0.1) and simulator.

A forged callback must cost nothing but a refusal: no journal write, no provider query,
one WARNING line and a count the operator can read. Genuine news we cannot believe as it
stands (a replayed, stale copy) may make us ask the provider, but never more often than
the per-payment query limit allows, however many copies arrive.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from paychannels import Status
from paychannels.security.verification import (
    CallbackRejected,
    MalformedCallback,
    StaleTimestamp,
    VerificationError,
)
from paychannels.security.webhooks import ItemHmac, TimestampedHmac
from paychannels.simulators.provider import SimKeys
from tests.contract.harnesses.mobile import sim_keys
from tests.providers.support import PROVIDER, Stack

FORGED = 200


@pytest.fixture(scope="module")
def keys() -> SimKeys:
    return sim_keys()


@pytest.fixture
def stack(journal_url: str, keys: SimKeys) -> Iterator[Stack]:
    s = Stack.build(keys, journal_url)
    try:
        yield s
    finally:
        s.close()


def _event_count(stack: Stack) -> int:
    return len(stack.collector.events(after=0, limit=100_000))


@pytest.mark.slow
def test_forged_callbacks_write_nothing_and_query_nothing(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    orders = {}
    for channel in ("wx", "ali"):
        unpaid = stack.order(channel, f"forge-unpaid-{channel}")
        paid = stack.order(channel, f"forge-paid-{channel}")
        stack.sim.book.open(PROVIDER[channel], unpaid.id)
        stack.sim.pay(PROVIDER[channel], paid.id)
        orders[channel] = (unpaid.id, paid.id)
    before = _event_count(stack)
    jobs = [
        (channel, orders[channel][i % 2], ("forged", "probe")[(i // 2) % 2])
        for i, channel in enumerate(["ali", "wx"] * (FORGED // 2))
    ]
    caplog.set_level(logging.WARNING)
    with ThreadPoolExecutor(8) as pool:
        attempts = list(
            pool.map(lambda j: stack.sim.deliver(PROVIDER[j[0]], j[1], variant=j[2]), jobs)
        )
    assert all(not a.accepted and a.status in (400, 401) for a in attempts), attempts[:3]
    assert _event_count(stack) == before, "a forged callback wrote to the journal"
    assert sum(stack.sim.book.queries.values()) == 0, stack.sim.book.queries
    counts = stack.collector.callback_counts.snapshot()
    assert counts["refused"] == FORGED and counts["queries"] == 0, counts
    refusals = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == FORGED, "one WARNING line per refused callback"
    for unpaid_id, paid_id in orders.values():
        assert stack.collector.status(unpaid_id).status is Status.PENDING
        assert stack.collector.status(paid_id).status is Status.PENDING


@pytest.mark.slow
def test_a_storm_of_replayed_genuine_callbacks_makes_a_bounded_number_of_queries(
    stack: Stack,
) -> None:
    p = stack.order("wx", "replayed")
    stack.sim.book.open("wechatpay", p.id)  # opened, not paid: every query says "unpaid"
    before = _event_count(stack)
    with ThreadPoolExecutor(8) as pool:
        attempts = list(
            pool.map(lambda _: stack.sim.deliver("wechatpay", p.id, variant="stale"), range(100))
        )
    assert all(a.status == 401 for a in attempts)
    queries = stack.sim.book.queries[p.id]
    assert 1 <= queries <= 2, f"{queries} provider queries for 100 replayed callbacks"
    assert _event_count(stack) == before
    counts = stack.collector.callback_counts.snapshot()
    assert counts["refused"] == 100 and counts["throttled"] >= 98, counts
    # the payer pays: the next replay within the limit's interval is not asked about, but
    # the genuine callback, when it comes, is applied at once
    stack.sim.pay("wechatpay", p.id)
    assert stack.sim.deliver("wechatpay", p.id).accepted
    assert stack.collector.status(p.id).status is Status.SUCCEEDED


def test_generic_webhooks_tell_a_forgery_from_a_replay() -> None:
    """Malformed MACs are malformed, wrong ones forgeries; only a proven stale one is worth
    asking about (the window is checked after the MAC)."""
    now = 1_700_000_000
    body = b'{"id":"evt_1"}'
    hook = TimestampedHmac(["whsec_current_secret"], now=lambda: now)
    other = TimestampedHmac(["whsec_someone_else"], now=lambda: now)
    old = now - 3600
    cases = {
        "t=1700000000,v1=zz": MalformedCallback,
        other.sign(body): VerificationError,
        other.sign(body, timestamp=old): VerificationError,  # stale and forged: a forgery
        hook.sign(body, timestamp=old): StaleTimestamp,  # genuine and stale: a replay
    }
    for header, expected in cases.items():
        with pytest.raises(CallbackRejected) as info:
            hook.verify({"Stripe-Signature": header}, body)
        assert type(info.value) is expected, (header, info.value)
        assert info.value.worth_asking is (expected is StaleTimestamp)
    items = ItemHmac(["44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"])
    item = {"pspReference": "7914073381342284", "amount": {"value": 1130, "currency": "EUR"}}
    for bad, expected in (("not base64!", MalformedCallback), ("AAAA", MalformedCallback)):
        with pytest.raises(expected):
            items.verify_item({**item, "additionalData": {"hmacSignature": bad}})
    forged = items.sign({**item, "pspReference": "0"})
    with pytest.raises(VerificationError) as info:
        items.verify_item({**item, "additionalData": {"hmacSignature": forged}})
    assert not info.value.worth_asking
