"""The demo's scanning assistants, fast: what the office does afterwards with code payments.

A payment made with a scanned code that provably never left (NOT_SENT) is not collected again
from the journal: the code is gone (a short-lived bearer token, never stored), so the payer
scans a new code, a new attempt. The recovery loop must not re-dispatch it.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from paychannels import Collector, Money, PaymentRequest, Status
from paychannels.demo.followup import settle_in_doubt
from paychannels.simulators.provider import ProviderSimulator
from tests.contract.harnesses.mobile import started_sim

sim = pytest.fixture(started_sim, name="sim")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def col(journal_url: str, sim: ProviderSimulator) -> Iterator[Collector]:
    """The code channel, its provider unreachable (connection refused: nothing sent)."""
    c = Collector.open(journal_url, create=True)
    keys = sim.keys
    c.add_channel(
        "wx-codes",
        f"wechatpay+http://127.0.0.1:{_closed_port()}?mchid={keys.mchid}&appid={keys.appid}&trade_type=codepay"
        "&wait_interval=0.05&wait_limit=0.3&timeout=1",
        notify_url="http://127.0.0.1:9/n",
        attempts=1,
        **keys.wechat_options(),
    )
    yield c
    c.close()


def test_a_code_payment_that_never_left_is_not_collected_again_from_the_journal(
    col: Collector, sim: ProviderSimulator
) -> None:
    sim.wallets.open("w", 10_000)
    request = PaymentRequest(
        payer_id="P1",
        amount=Money.of_minor(1200, "CNY"),
        reference="fee",
        idempotency_key="scan-1",
        payment_code=sim.wallets.code("w"),
        operator="协理员-A",
    )
    first = col.collect(request, channel="wx-codes")
    assert first.status is Status.NOT_SENT
    assert request.payment_code is not None
    assert first.scanned_code == request.payment_code.masked
    before = len(col.events(payment_id=first.id))

    settle_in_doubt(col, {}, wait=0.0)

    assert len(col.events(payment_id=first.id)) == before  # nothing dispatched again
    assert col.status(first.id).status is Status.NOT_SENT
    assert sim.wallets.wallet("w").balance_minor == 10_000
