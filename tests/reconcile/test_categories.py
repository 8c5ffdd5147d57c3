"""Reconciliation against constructed days: every category, with the answer known, on both
journal backends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from paychannels import Status
from paychannels.documents.roster import RosterError
from paychannels.reconcile import Category, Reconciliation, reconcile
from paychannels.reconcile.taken import NO_OPERATOR
from tests.reconcile.day import Day, payer


@pytest.fixture
def day(tmp_path: Path, journal_url: str) -> Iterator[Day]:
    d = Day.open(tmp_path, journal_url)
    yield d
    d.journal.close()


def _by_payer(rec: Reconciliation, day: Day) -> dict[int, Category]:
    by_line = {row.line: row.category for row in rec.details()}
    return {n: by_line[line] for n, line in day.line_of.items()}


@pytest.mark.slow
def test_every_category_is_found(day: Day) -> None:
    expected: dict[int, Category] = {}
    # 1 paid: one payment, the amount owed
    day.owe(1, "300.00"), day.pay(1, "300.00", operator="柜员-王丽")
    expected[1] = Category.PAID
    # 2 unpaid: nobody tried
    day.owe(2, "300.00")
    expected[2] = Category.UNPAID
    # 3 unpaid: tried, declined
    day.owe(3, "300.00"), day.pay(3, "300.00", status=Status.DECLINED, channel="bank")
    expected[3] = Category.UNPAID
    # 4 partly paid: a partial bank debit
    day.owe(4, "300.00"), day.pay(4, "300.00", taken="150.00", channel="bank")
    expected[4] = Category.PARTLY_PAID
    # 5 paid in two parts: the partial debit, then the rest at the hall
    day.owe(5, "300.00"), day.pay(5, "300.00", taken="150.00", channel="bank")
    day.pay(5, "150.00", again=True)
    expected[5] = Category.PAID
    # 6 paid twice through two channels
    day.owe(6, "300.00"), day.pay(6, "300.00"), day.pay(6, "300.00", channel="wx", again=True)
    expected[6] = Category.PAID_TWICE
    # 7 paid twice, the duplicate refunded: paid
    day.owe(7, "300.00"), day.pay(7, "300.00")
    day.refund(day.pay(7, "300.00", channel="wx", again=True), "300.00", channel="wx")
    expected[7] = Category.PAID
    # 8 amount mismatch: charged another grade
    day.owe(8, "300.00"), day.pay(8, "400.00")
    expected[8] = Category.AMOUNT_MISMATCH
    # 9 overpaid: the channel took more than it was asked
    day.owe(9, "300.00"), day.pay(9, "300.00", taken="330.00")
    expected[9] = Category.OVERPAID
    # 10, 11, 12 in doubt: UNKNOWN, PENDING, NEEDS_ATTENTION
    day.owe(10, "300.00"), day.pay(10, "300.00", status=Status.UNKNOWN)
    day.owe(11, "300.00"), day.pay(11, "300.00", status=Status.PENDING, channel="wx")
    day.owe(12, "300.00"), day.pay(12, "300.00", status=Status.NEEDS_ATTENTION)
    expected |= {10: Category.IN_DOUBT, 11: Category.IN_DOUBT, 12: Category.IN_DOUBT}
    # 13 reversed: the money went back
    day.owe(13, "300.00"), day.pay(13, "300.00", status=Status.REVERSED)
    expected[13] = Category.UNPAID
    # 14 paid, with an attention flag (a late contradicting callback): paid, and listed
    day.owe(14, "300.00"), day.pay(14, "300.00", channel="wx", attention="late CLOSED")
    expected[14] = Category.PAID
    # 15 not on the roster at all, but paid
    day.pay(15, "300.00", channel="wx")
    # 16 on the roster for another period: its payment is not this obligation's
    day.owe(16, "300.00"), day.pay(16, "300.00", reference="2025:城乡居民基本养老保险")
    expected[16] = Category.UNPAID

    rec = reconcile(day.journal, day.roster)
    assert _by_payer(rec, day) == expected
    assert rec.totals.obligations == len(expected)
    assert rec.totals.count(Category.IN_DOUBT) == 3 and rec.in_doubt == 3
    assert rec.doubled == 1
    # the payer not on the roster, and the other period, are money from outside it
    assert rec.outside.obligations == 2 and rec.outside.received_minor == 60000
    assert not rec.balanced
    why = {c.payer[-4:] + c.category: c.text for c in rec.concerns}
    assert any(
        "paid 300.00 through hall-1" in t and "300.00 to give back" in t for t in why.values()
    )
    assert any("charged 400.00 CNY through hall-1" in t for t in why.values())
    assert any("received 150.00 of 300.00" in t and "150.00 still owed" in t for t in why.values())
    assert any("late CLOSED" in t for t in why.values())
    categories = {c.category for c in rec.concerns}
    assert {
        "paid_twice",
        "amount_mismatch",
        "overpaid",
        "partly_paid",
        "in_doubt",
        "attention",
        "not_in_roster",
    } <= categories
    # what was received is what the payments hold, by channel and by operator
    held = {c.channel: c.held_minor for c in rec.channels}
    assert held == {
        "hall-1": 30000 + 15000 + 30000 + 30000 + 40000 + 33000 + 30000,
        "bank": 15000 + 15000,
        "wx": 30000 + 30000 + 30000 + 30000 - 30000,
    }
    ops = {o.operator: o.held_minor for o in rec.operators}
    assert ops["柜员-王丽"] == 30000
    assert sum(ops.values()) == sum(held.values())
    assert NO_OPERATOR in ops


def test_an_empty_journal_is_all_unpaid_and_balanced(day: Day) -> None:
    for n in range(1, 6):
        day.owe(n, "200.00", town="察尔森镇" if n % 2 else "科尔沁镇")
    rec = reconcile(day.journal, day.roster)
    assert rec.totals.count(Category.UNPAID) == 5 and rec.totals.owed_minor == 100000
    assert set(rec.townships) == {"察尔森镇", "科尔沁镇"}
    assert rec.townships["察尔森镇"].obligations == 3
    assert rec.balanced  # nothing taken, nothing to explain
    assert rec.concerns == []


def test_a_roster_with_problems_is_refused_with_every_problem(day: Day) -> None:
    day.owe(1, "300.00")
    day.lines.append("150422198001011230,李四,,,,,abc,2026,hall\n")
    day.lines.append(f"{payer(1)},张三,,,城乡居民基本养老保险,,300.00,2026,hall\n")
    with pytest.raises(RosterError) as info:
        reconcile(day.journal, day.roster)
    assert {(p.line, p.column) for p in info.value.problems} >= {
        (3, "payer_id"),
        (3, "amount"),
        (4, "payer_id"),
    }


def test_per_township_and_period_totals_add_up(day: Day) -> None:
    for n in range(1, 13):
        day.owe(n, "100.00", town="索伦镇" if n <= 4 else "归流河镇")
        if n % 3:
            day.pay(n, "100.00", channel="bank" if n % 2 else "wx")
    rec = reconcile(day.journal, day.roster)
    towns = rec.townships
    assert (towns["索伦镇"].obligations, towns["索伦镇"].count(Category.PAID)) == (4, 3)
    assert sum(t.received_minor for t in towns.values()) == rec.totals.received_minor == 80000
    assert towns["归流河镇"].paid_share == pytest.approx(5 / 8)
    assert list(rec.periods) == ["2026"] and rec.periods["2026"].owed_minor == 120000
    assert rec.totals.money["paid"] == [80000, 80000]
    assert rec.totals.money["unpaid"] == [40000, 0]
