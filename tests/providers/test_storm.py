"""A callback storm against the ASGI app under uvicorn: exactly once, nothing forged believed.

10,000 callbacks for 1,000 orders (WeChat Pay and Alipay, half each; about 70 % paid):
every paid order's notification several times over (each copy freshly signed, as a
provider's retries are), plus forged, probe and replayed copies for paid and unpaid orders
alike, shuffled and delivered by 32 concurrent senders on their own connections. Checked:
each paid order credited exactly once, no unpaid one credited, every genuine callback
acknowledged, every fake one refused. Under ``CI=true`` the storm is a fifth of the size;
``PAYCHANNELS_STORM=full`` forces the full size.
"""

from __future__ import annotations

import os
import random
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from paychannels import Status
from paychannels.simulators.provider import SimKeys
from paychannels.simulators.provider.book import OrderStatus
from tests.conftest import pg_schema
from tests.contract.harnesses.mobile import sim_keys
from tests.providers.support import PROVIDER, Stack

FULL = os.environ.get("PAYCHANNELS_STORM") == "full" or os.environ.get("CI") != "true"
ORDERS = 1000 if FULL else 200
CALLBACKS = 10 * ORDERS
SENDERS = 32


@dataclass(frozen=True)
class Delivery:
    channel: str
    payment_id: str
    variant: str
    body: bytes
    headers: dict[str, str]


@pytest.fixture(scope="module")
def keys() -> SimKeys:
    return sim_keys()


@pytest.fixture(params=["sqlite", "postgres"])
def stack(request: pytest.FixtureRequest, keys: SimKeys, tmp_path: Path) -> Iterator[Stack]:
    if request.param == "sqlite":
        s = Stack.build(keys, f"sqlite:///{tmp_path}/storm.db?synchronous=normal")
        try:
            yield s
        finally:
            s.close()
        return
    with pg_schema() as url:
        s = Stack.build(keys, url)
        try:
            yield s
        finally:
            s.close()


def plan(stack: Stack, rng: random.Random) -> tuple[list[Delivery], set[str], set[str]]:
    """Orders at the simulator, who paid, and the shuffled callbacks to send."""
    paid: set[str] = set()
    unpaid: set[str] = set()
    owner: dict[str, str] = {}
    for i in range(ORDERS):
        channel = "wx" if i % 2 == 0 else "ali"
        p = stack.order(channel, f"storm-{i}")
        assert p.status is Status.PENDING, p.reason_detail
        owner[p.id] = channel
        if rng.random() < 0.7:
            stack.sim.pay(PROVIDER[channel], p.id)
            paid.add(p.id)
        else:
            unpaid.add(p.id)
    deliveries: list[Delivery] = []

    def add(payment_id: str, variant: str) -> None:
        channel = owner[payment_id]
        note = stack.sim.notification(PROVIDER[channel], payment_id)
        body, headers = note.render(0, variant)
        deliveries.append(Delivery(channel, payment_id, variant, body, headers))

    for payment_id in paid:
        add(payment_id, "genuine")
    everyone = sorted(owner)
    paid_list = sorted(paid)
    while len(deliveries) < CALLBACKS:
        if rng.random() < 0.6:
            add(rng.choice(paid_list), "genuine")  # duplicates
        else:
            payment_id = rng.choice(everyone)
            fakes = ["forged", "probe", "stale"] if owner[payment_id] == "wx" else ["forged"]
            with claiming_paid(stack, PROVIDER[owner[payment_id]], payment_id):
                add(payment_id, rng.choice(fakes))
    rng.shuffle(deliveries)
    return deliveries, paid, unpaid


@contextmanager
def claiming_paid(stack: Stack, provider: str, payment_id: str) -> Iterator[None]:
    """While rendering a fake callback, let it claim a payment even if nobody paid."""
    order = stack.sim.book.get(provider, payment_id)
    assert order is not None
    saved = (order.status, order.paid_at)
    if order.paid_at is None:
        order.status, order.paid_at = OrderStatus.PAID, datetime.now(UTC)
    try:
        yield
    finally:
        order.status, order.paid_at = saved


def accepted(delivery: Delivery, response: httpx.Response) -> bool:
    if delivery.channel == "wx":
        return response.status_code in (200, 204)
    return response.status_code == 200 and response.content == b"success"


@pytest.mark.slow
def test_callback_storm(stack: Stack) -> None:
    rng = random.Random(20260105)
    deliveries, paid, unpaid = plan(stack, rng)
    local = threading.local()

    def send(d: Delivery) -> tuple[Delivery, httpx.Response]:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(timeout=60)
        url = stack.served.url(f"/callbacks/{d.channel}")
        return d, client.post(url, content=d.body, headers=d.headers)

    with ThreadPoolExecutor(SENDERS) as pool:
        results = list(pool.map(send, deliveries))
    outcomes = Counter((d.variant, accepted(d, r)) for d, r in results)
    genuine = sum(1 for d in deliveries if d.variant == "genuine")
    refused = Counter(
        (r.status_code, r.content[:80])
        for d, r in results
        if d.variant == "genuine" and not accepted(d, r)
    )
    assert outcomes[("genuine", True)] == genuine, (outcomes, refused)
    assert not any(ok for (variant, ok) in outcomes if variant != "genuine"), outcomes
    assert all(r.status_code == 401 for d, r in results if d.variant != "genuine")
    col = stack.collector
    for payment_id in paid:
        record = col.status(payment_id)
        assert record.status is Status.SUCCEEDED, (payment_id, record.status)
        assert record.amount_taken == record.amount
        credits = [e for e in col.events(payment_id=payment_id) if e.to_status is Status.SUCCEEDED]
        assert len(credits) == 1, payment_id
    for payment_id in unpaid:
        assert col.status(payment_id).status is Status.PENDING, payment_id
        assert stack.sim.charges(payment_id) == 0
    for payment_id in sorted(paid | unpaid):
        assert col.journal.verify(payment_id) == [], payment_id
