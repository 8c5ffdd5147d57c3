"""Callbacks that arrive together are credited together: one transaction per group, not each.

A storm's credits queue behind the journal's one writer (and its fsync) on SQLite, and
behind a commit round trip each on PostgreSQL. Here the first callback's write is held
inside the journal until every other callback has been verified; the rest must then be
written in one transaction, each credited once, each acknowledged only after its commit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pytest

from paychannels import Collector, Money, PaymentRequest, Status, open_channel
from paychannels.callbacks import CallbackHandler
from paychannels.journal import Journal, open_journal
from paychannels.journal.base import Applied, Decide
from paychannels.simulators.provider import ProviderSimulator, SimKeys
from paychannels.simulators.provider.messages import wechat_notification, wechat_signed
from paychannels.values.errors import PaychannelsError
from tests.contract.harnesses.mobile import sim_keys

N = 20


class HeldJournal:
    """The real journal, counting write transactions of records and holding the first."""

    def __init__(self, inner: Journal) -> None:
        self.inner = inner
        self.writes = 0
        self.armed = False
        self.entered = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _count(self) -> None:
        with self._lock:
            self.writes += 1
            first = self.armed and self.writes == 1
        if first:
            self.entered.set()
            assert self.release.wait(30), "the test never released the first write"

    def modify(self, record_id: str, decide: Decide, *, now: datetime) -> Applied:
        self._count()
        return self.inner.modify(record_id, decide, now=now)

    def modify_many(
        self, items: Sequence[tuple[str, Decide]], *, now: datetime
    ) -> list[Applied | PaychannelsError]:
        self._count()
        return self.inner.modify_many(items, now=now)


def callback(keys: SimKeys, payment_id: str) -> tuple[bytes, dict[str, str]]:
    resource = {
        "appid": keys.appid, "mchid": keys.mchid, "out_trade_no": payment_id,
        "transaction_id": "4200" + payment_id[-24:].rjust(24, "0"), "trade_type": "NATIVE",
        "trade_state": "SUCCESS", "trade_state_desc": "支付成功", "bank_type": "OTHERS",
        "success_time": "2026-01-05T17:30:00+08:00",
        "amount": {"total": 38000, "payer_total": 38000, "currency": "CNY",
                   "payer_currency": "CNY"},
    }  # fmt: skip
    body = wechat_notification(
        resource, event_type="TRANSACTION.SUCCESS", original_type="transaction", keys=keys
    )
    return body, wechat_signed(body, keys, use_public_key=True, timestamp=int(time.time()))


@pytest.fixture
def stack(journal_url: str) -> Iterator[tuple[Collector, HeldJournal, SimKeys, list[str]]]:
    keys = sim_keys()
    journal = HeldJournal(open_journal(journal_url, create=True))
    with ProviderSimulator(keys, auto_notify=False) as sim:
        collector = Collector(journal)  # type: ignore[arg-type]
        collector.add_channel(
            "wx",
            open_channel(
                f"wechatpay+{sim.url}?mchid={keys.mchid}&appid={keys.appid}",
                notify_url="http://127.0.0.1:9/n",
                **keys.wechat_options(),
            ),
        )
        ids = []
        for i in range(N):
            request = PaymentRequest(
                payer_id=f"payer-{i}",
                amount=Money("380.00", "CNY"),
                reference="2026",
                idempotency_key=f"group-{i}",
            )
            payment = collector.collect(request, channel="wx")
            assert payment.status is Status.PENDING
            ids.append(payment.id)
        try:
            yield collector, journal, keys, ids
        finally:
            journal.release.set()
            collector.close()


def test_callbacks_arriving_together_are_credited_in_one_transaction(
    stack: tuple[Collector, HeldJournal, SimKeys, list[str]],
) -> None:
    collector, journal, keys, ids = stack
    items = [callback(keys, pid) for pid in ids]
    handler = CallbackHandler(collector)
    journal.writes, journal.armed = 0, True

    def deliver(item: tuple[bytes, dict[str, str]]) -> int:
        return handler.handle("wx", item[1], item[0]).status_code

    with ThreadPoolExecutor(N) as pool:
        first = pool.submit(deliver, items[0])
        assert journal.entered.wait(10), "the first credit never reached the journal"
        rest = [pool.submit(deliver, item) for item in items[1:]]
        deadline = time.monotonic() + 20
        while collector.callback_counts.snapshot()["accepted"] < N:
            assert time.monotonic() < deadline, collector.callback_counts.snapshot()
            time.sleep(0.01)
        time.sleep(0.2)  # the verified callbacks now wait for the journal (or wrote alone)
        assert not first.done()  # nobody is answered before the held write commits
        journal.release.set()
        codes = [first.result(30), *(f.result(30) for f in rest)]
    assert codes == [204] * N
    assert journal.writes == 2  # the held one, then the other 19 together
    for pid in ids:
        assert collector.status(pid).status is Status.SUCCEEDED
        credited = [e for e in collector.events(payment_id=pid) if e.to_status is Status.SUCCEEDED]
        assert len(credited) == 1
