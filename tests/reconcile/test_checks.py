"""Settlement figures against the journal: terminal end of day, provider bills, bank files.

Each test builds a day whose figures agree, checks the day balances, then makes one thing
disagree (money the channel holds that the journal does not credit, or the other way
round) and checks it is found, measured and explained.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from paychannels import Status
from paychannels.channels.settlement import Settlement, SettlementItem, SettlementKind
from paychannels.reconcile import reconcile
from tests.reconcile.day import T0, Day


@pytest.fixture
def day(tmp_path: Path) -> Iterator[Day]:
    d = Day.open(tmp_path, f"sqlite:///{tmp_path}/j.db")
    yield d
    d.journal.close()


def _eod(net: int, count: int | None, receipts: tuple[int, int], hours: int = 8) -> Settlement:
    return Settlement(
        SettlementKind.TERMINAL,
        f"eod-{hours}",
        f"ZVT end of day +{hours}h",
        "CNY",
        T0 + timedelta(hours=hours),
        net,
        count,
        None,
        None,
        None,
        receipts=receipts,
    )


def test_terminal_end_of_day_matches_and_what_breaks_it(day: Day) -> None:
    for n in (1, 2, 3):
        day.owe(n, "300.00")
    day.pay(1, "300.00", ref="29001234/0001/000001")
    p2 = day.pay(2, "300.00", ref="29001234/0002/000002")
    day.refund(p2, "100.00", ref="29001234/0003/000003")
    day.settle("hall-1", _eod(50000, 2, (1, 3)))
    rec = reconcile(day.journal, day.roster)
    [check] = rec.checks
    assert (check.channel, check.kind, check.status) == ("hall-1", "terminal", "match")
    # the money balances; payer 2 (refunded 100.00 of 300.00) is listed, not unbalancing
    assert rec.balanced and rec.lost_minor == 0 and rec.unconfirmed_minor == 0
    assert [c.category for c in rec.concerns] == ["partly_paid"]

    # the terminal booked payer 3, the journal says UNKNOWN: money lost to the journal
    day.pay(3, "300.00", status=Status.UNKNOWN)
    day.settle("hall-1", _eod(50000 + 30000, 3, (1, 4)))
    rec = reconcile(day.journal, day.roster)
    [stmt] = rec.checks[0].statements
    assert not stmt.matches and stmt.lost_minor == 30000
    assert any("counts 3 payments, the journal 2" in d for d in stmt.differences)
    assert any("in doubt on this terminal" in d for d in stmt.differences)
    assert rec.lost_minor == 30000 and not rec.balanced


def test_money_on_a_terminal_without_a_receipt_number_is_unconfirmed(day: Day) -> None:
    day.owe(1, "300.00"), day.owe(2, "200.00")
    day.pay(1, "300.00", ref="29001234/0001/000001")
    day.settle("hall-1", _eod(30000, 1, (1, 1)))
    assert reconcile(day.journal, day.roster).balanced
    # credited without a receipt (a hand edit, a bug): no end of day can confirm it
    rid = day.pay(2, "200.00", ref=None)
    rec = reconcile(day.journal, day.roster)
    batch, orphans = rec.checks[0].statements
    assert batch.matches and not orphans.matches
    assert (orphans.source, orphans.journal_net_minor, orphans.unconfirmed_minor) == (
        "records without a receipt number",
        20000,
        20000,
    )
    assert any(rid in d and "without a receipt number" in d for d in orphans.differences)
    assert rec.checks[0].status == "mismatch" and not rec.balanced


def test_receipt_numbers_wrap_and_batches_are_told_apart_by_time(day: Day) -> None:
    day.owe(1, "100.00"), day.owe(2, "200.00"), day.owe(3, "400.00")
    day.pay(1, "100.00", ref="29001234/9999/000001", at=T0)
    day.pay(2, "200.00", ref="29001234/0001/000002", at=T0)  # batch 1 wraps 9999 -> 0001
    day.settle("hall-1", _eod(30000, 2, (9999, 1), hours=1))
    day.pay(3, "400.00", ref="29001234/0001/000003", at=T0 + timedelta(hours=2))  # 0001 again
    day.settle("hall-1", _eod(40000, 1, (1, 1), hours=3))
    rec = reconcile(day.journal, day.roster)
    first, second = rec.checks[0].statements
    assert (first.journal_net_minor, second.journal_net_minor) == (30000, 40000)
    assert rec.checks[0].status == "match" and rec.balanced


def test_provider_bill_line_by_line(day: Day) -> None:
    day.owe(1, "300.00"), day.owe(2, "300.00"), day.owe(3, "300.00"), day.owe(4, "300.00")
    a = day.pay(1, "300.00", channel="wx")
    b = day.pay(2, "300.00", channel="wx")
    r = day.refund(b, "50.00", channel="wx")
    day.pay(3, "300.00", channel="wx", status=Status.PENDING)
    items = (
        SettlementItem(a, "payment", 30000),
        SettlementItem(b, "payment", 30000),
        SettlementItem(r, "refund", 5000),
    )
    bill = Settlement(
        SettlementKind.PROVIDER,
        "2026-03-02",
        "wx bill of 2026-03-02",
        "CNY",
        T0 + timedelta(days=1),
        55000,
        2,
        60000,
        1,
        5000,
        dates=("2026-03-02",),
        items=items,
    )
    day.settle("wx", bill)
    rec = reconcile(day.journal, day.roster)
    assert rec.checks[0].status == "match"
    assert rec.in_doubt == 1  # payer 3's order is still open: the day cannot balance yet

    # the provider took money for payer 3 (the journal still says PENDING), and the journal
    # credits payer 4, whom the bill does not list
    d = day.pay(4, "300.00", channel="wx")
    lost_item = SettlementItem(day.journal.find(payer_id=_payer(3))[0].id, "payment", 30000)
    bigger = (*items, lost_item)
    day.settle("wx", replace(bill, net_minor=85000, payments=3, gross_minor=90000, items=bigger))
    rec = reconcile(day.journal, day.roster)
    [stmt] = rec.checks[0].statements
    assert any("the journal says PENDING" in x for x in stmt.differences)
    assert any(f"credits payment {d}" in x and "does not list it" in x for x in stmt.differences)
    assert stmt.stated_net_minor == 85000 and stmt.journal_net_minor == 85000  # they cancel out
    assert not stmt.matches and not rec.balanced


def test_a_payment_reversed_after_paying_nets_out_on_the_bill(day: Day) -> None:
    # a scanned code paid, then cancelled by the provider (Alipay's cancel with
    # action=refund): the bill lists the trade and its return under the payment's own number;
    # the journal has it REVERSED (taken and given back): together they match
    day.owe(1, "300.00"), day.owe(2, "300.00")
    a = day.pay(1, "300.00", channel="ali-codes")
    v = day.pay(2, "300.00", channel="ali-codes", status=Status.REVERSED)
    items = (
        SettlementItem(a, "payment", 30000),
        SettlementItem(v, "payment", 30000),
        SettlementItem(v, "refund", 30000),
    )
    bill = Settlement(
        SettlementKind.PROVIDER, "2026-03-02", "ali bill of 2026-03-02", "CNY",
        T0 + timedelta(days=1), 30000, 2, 60000, 1, 30000,
        dates=("2026-03-02",), items=items,
    )  # fmt: skip
    day.settle("ali-codes", bill)
    rec = reconcile(day.journal, day.roster)
    assert rec.checks[0].status == "match", rec.checks[0].statements[0].differences

    # without the return on the bill the provider still holds money the journal gave back
    kept = replace(bill, net_minor=60000, refunds=0, refund_minor=0, items=items[:2])
    day.settle("ali-codes", kept)
    rec = reconcile(day.journal, day.roster)
    [stmt] = rec.checks[0].statements
    assert any(v in x and "REVERSED" in x for x in stmt.differences), stmt.differences
    assert not rec.balanced


def _payer(n: int) -> str:
    from tests.reconcile.day import payer

    return payer(n)


def test_bank_result_files_against_the_journal(day: Day) -> None:
    for n in (1, 2, 3):
        day.owe(n, "300.00")
    day.pay(1, "300.00", channel="bank")
    day.pay(2, "300.00", channel="bank", taken="120.00")
    day.pay(3, "300.00", channel="bank", status=Status.DECLINED)

    def files(net: int, settled: int, returned: int = 0) -> None:
        day.settle(
            "bank",
            Settlement(
                SettlementKind.BANK,
                "sha-1",
                "result file R1.xml",
                "CNY",
                T0 + timedelta(days=2),
                net,
                settled,
                net + returned * 30000,
                returned,
                returned * 30000,
                detail={"failed": 1, "pending": 0},
            ),
        )

    files(42000, 2)
    rec = reconcile(day.journal, day.roster)
    assert rec.checks[0].status == "match"
    assert rec.checks[0].notes == [
        "result file R1.xml: settled 2 (420.00), returned 0 (0.00), refused 1, pending 0"
    ]
    files(42000 + 30000, 3)  # the bank says it took payer 3's too
    [stmt] = reconcile(day.journal, day.roster).checks[0].statements
    assert stmt.lost_minor == 30000 and "the bank holds 3 debits" in stmt.differences[1]


def test_a_channel_with_money_but_no_figures_is_unchecked(day: Day) -> None:
    day.owe(1, "300.00"), day.pay(1, "300.00", channel="hall-9")
    rec = reconcile(day.journal, day.roster)
    assert rec.unchecked == ["hall-9"] and not rec.balanced
    assert any("no settlement figures recorded" in c.text for c in rec.concerns)


def test_terminal_refunds_are_checked_against_the_journal(day: Day) -> None:
    """An end of day that reports refunds separately: their count and sum must be the journal's."""
    day.owe(1, "300.00")
    p1 = day.pay(1, "300.00", ref="29001234/0001/000001")
    day.refund(p1, "100.00", ref="29001234/0002/000002")
    eod = replace(_eod(20000, 1, (1, 2)), gross_minor=30000, refunds=1, refund_minor=10000)
    day.settle("hall-1", eod)
    [check] = reconcile(day.journal, day.roster).checks
    assert check.status == "match"

    # the terminal says two refunds of 50.00: the net agrees, the refunds do not
    twice = replace(eod, key="eod-9", recorded_at=eod.recorded_at + timedelta(hours=1), refunds=2)
    day.settle("hall-1", twice)
    rec = reconcile(day.journal, day.roster)
    stmt = rec.checks[0].statements[-1]
    assert any("counts 2 refunds, the journal 1" in d for d in stmt.differences)
    assert not stmt.matches


def _batch(net: int, batch: str, hours: int) -> Settlement:
    """A MIS-POS settlement: a batch number and its net, no receipt numbers, no counts."""
    return Settlement(
        SettlementKind.TERMINAL,
        batch,
        f"MIS-POS settlement of batch {batch}",
        "CNY",
        T0 + timedelta(hours=hours),
        net,
        batch=batch,
    )


def test_mispos_refs_are_read_as_terminal_batch_trace(journal_url: str, tmp_path: Path) -> None:
    """A MIS-POS ``channel_ref`` names the batch in the middle: the batch's payments are found
    by it (a receipt range would misread it), whatever their trace numbers."""
    day = Day.open(tmp_path, journal_url)
    try:
        for n, amount in ((1, "100.00"), (2, "50.00"), (3, "20.00"), (4, "7.00")):
            day.owe(n, amount)
        p1 = day.pay(1, "100.00", channel="mis", ref="00000001/000003/000041", at=T0)
        day.refund(p1, "30.00", channel="mis", ref="00000001/000003/000043", at=T0)
        day.pay(2, "50.00", channel="mis", ref="00000001/000003/000042", status=Status.REVERSED)
        day.pay(3, "20.00", channel="mis", ref="00000001/000003/000044", at=T0)
        day.pay(4, "7.00", channel="mis", ref="/000004/000045", at=T0 + timedelta(hours=2))
        day.settle("mis", _batch(9000, "000003", hours=1))
        rec = reconcile(day.journal, day.roster)
        [check] = rec.checks
        assert (check.kind, check.status) == ("terminal", "match")
        [stmt] = check.statements
        assert (stmt.stated_net_minor, stmt.journal_net_minor) == (9000, 9000)
        assert check.notes == ["1 booking(s) after the last end of day: not settled yet"]

        # batch 4 (its ref lacks the terminal id, the batch keeps its place) settles too
        day.settle("mis", _batch(700, "000004", hours=3))
        rec = reconcile(day.journal, day.roster)
        assert rec.checks[0].status == "match" and rec.lost_minor == rec.unconfirmed_minor == 0

        # the terminal's total of batch 3 is 10.00 short of what the journal credits
        day.settle("mis", _batch(8000, "000003", hours=1))
        rec = reconcile(day.journal, day.roster)
        first, second = rec.checks[0].statements
        assert (first.unconfirmed_minor, second.matches) == (1000, True)
        assert rec.checks[0].status == "mismatch" and not rec.balanced
    finally:
        day.journal.close()


def test_a_mispos_record_without_a_batch_number_is_unconfirmed(day: Day) -> None:
    day.owe(1, "100.00"), day.owe(2, "20.00")
    day.pay(1, "100.00", channel="mis", ref="00000001/000001/000001")
    day.settle("mis", _batch(10000, "000001", hours=1))
    assert reconcile(day.journal, day.roster).balanced
    rid = day.pay(2, "20.00", channel="mis", ref=None)
    rec = reconcile(day.journal, day.roster)
    batch, orphans = rec.checks[0].statements
    assert batch.matches and orphans.source == "records without a batch number"
    assert orphans.unconfirmed_minor == 2000 and any(rid in d for d in orphans.differences)
