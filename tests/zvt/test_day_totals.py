"""End of day with refunds in the batch: BMP 04, BMP 60, the refund record and the receipt agree.

ZVT-CMD §3.1.3: BMP 04 is the day's total, BMP 60 per card group a count (1 byte) and a
turnover (6 BCD). A BCD amount has no sign, so refunds cannot be netted into it (a refund-only
day would be negative): the terminal reports them separately (see drivers/zvt/totals.py).
"""

from __future__ import annotations

from paychannels import Money, Status
from paychannels.channels.settlement import recorded_settlements
from tests.zvt.conftest import Hall

S = Status


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


def _record(first: str, last: str, other: tuple[int, str]) -> str:
    """BMP 60's layout by hand: receipt range, six empty card groups, then 'other cards'."""
    return first + last + "00000000000000" * 6 + f"{other[0]:02x}" + other[1]


def test_hand_written_records_are_read_both_ways() -> None:
    from paychannels.drivers.zvt.apdu import decode_apdu
    from paychannels.drivers.zvt.dialogue import Exchange
    from paychannels.drivers.zvt.replies import StatusInformation
    from paychannels.drivers.zvt.totals import day_totals

    payments = _record("0001", "0002", (1, "000000005000"))
    refunds = _record("0001", "0002", (1, "000000002000"))
    assert len(bytes.fromhex(payments)) == 53
    body = "2700" + "04000000005000" + "60f0f5f3" + payments + "0638" + "df6035" + refunds
    info = StatusInformation.parse(decode_apdu(bytes.fromhex(f"040f{len(body) // 2:02x}" + body)))
    totals = day_totals(Exchange("End-of-Day", infos=[info]), "CNY")
    assert (totals.total, totals.count, totals.refund_count) == (_yuan("50.00"), 1, 1)
    assert totals.refund_total == _yuan("20.00") and totals.net == _yuan("30.00")

    # a terminal without the refund record: BMP 04 is its net, refunds unknown
    body = "2700" + "04000000003000" + "60f0f5f3" + payments
    info = StatusInformation.parse(decode_apdu(bytes.fromhex(f"040f{len(body) // 2:02x}" + body)))
    bare = day_totals(Exchange("End-of-Day", infos=[info]), "CNY")
    assert bare.refunds is None and bare.refund_count is None and bare.net == _yuan("30.00")
