"""End of day with refunds in the batch: BMP 04, BMP 60, the refund record and the receipt agree.

ZVT-CMD §3.1.3: BMP 04 is the day's total, BMP 60 per card group a count (1 byte) and a
turnover (6 BCD). A BCD amount has no sign, so refunds cannot be netted into it (a refund-only
day would be negative): the terminal reports them separately (see drivers/zvt/totals.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from paychannels import Money, Status
from paychannels.channels.settlement import recorded_settlements
from tests.zvt.conftest import Hall, open_hall

S = Status


@pytest.fixture
def tcp_hall(tmp_path: Path) -> Iterator[Hall]:
    h = open_hall(tmp_path, "tcp")
    yield h
    h.col.close()
    h.sim.close()


def _yuan(text: str) -> Money:
    return Money(text, "CNY")


def test_payment_and_refund_day(tcp_hall: Hall) -> None:
    p = tcp_hall.pay("50.00")
    r = tcp_hall.col.refund(p.id, _yuan("20.00"), idempotency_key="r1")
    assert r.status is S.SUCCEEDED
    totals = tcp_hall.channel.end_of_day(tcp_hall.col.channel_context("hall-1"))
    assert totals.total == _yuan("50.00") and totals.count == 1
    assert totals.by_card == {"other": (1, _yuan("50.00"))}
    assert totals.refunds == {"other": (1, _yuan("20.00"))}
    assert totals.net == _yuan("30.00")
    [day] = recorded_settlements(tcp_hall.col.journal)["hall-1"]
    assert (day.net_minor, day.payments, day.gross_minor, day.refunds, day.refund_minor) == (
        3000,
        1,
        5000,
        1,
        2000,
    )


def test_refund_only_day(tcp_hall: Hall) -> None:
    p = tcp_hall.pay("50.00")
    tcp_hall.channel.end_of_day(tcp_hall.col.channel_context("hall-1"))
    tcp_hall.col.refund(p.id, _yuan("20.00"), idempotency_key="r1")
    totals = tcp_hall.channel.end_of_day(tcp_hall.col.channel_context("hall-1"))
    assert totals.total == _yuan("0.00") and totals.count == 0
    assert totals.refunds == {"other": (1, _yuan("20.00"))}
    assert totals.net == _yuan("-20.00")
    second = recorded_settlements(tcp_hall.col.journal)["hall-1"][-1]
    assert (second.net_minor, second.payments, second.refunds, second.refund_minor) == (
        -2000,
        0,
        1,
        2000,
    )


def test_the_receipt_counts_what_the_record_counts(tcp_hall: Hall) -> None:
    p = tcp_hall.pay("50.00")
    tcp_hall.pay("7.00")
    tcp_hall.col.refund(p.id, _yuan("20.00"), idempotency_key="r1")
    totals = tcp_hall.channel.end_of_day(tcp_hall.col.channel_context("hall-1"))
    assert totals.count == 2
    assert "PAYMENTS 2  57.00" in totals.receipt
    assert "REFUNDS 1  20.00" in totals.receipt
    assert "NET  37.00" in totals.receipt
    assert not any(line.startswith("TRANSACTIONS") for line in totals.receipt)
