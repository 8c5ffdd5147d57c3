"""Settlement arrivals: each channel's settlement against the collection account's credits.

A constructed day: four channels settle on Monday 2026-03-02; the account's statements for
Tuesday and Wednesday (written by pyiso20022, not by us) show one settlement in full by
amount and date, one in full net of its declared fee, one a day late, one short under its
reference, one missing, and a credit nobody settled. Each must come out as what it is,
naming the statement lines, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from paychannels.channels.settlement import Settlement, SettlementKind
from paychannels.reconcile import reconcile
from paychannels.reconcile.arrivals import ArrivalRules, check_arrivals
from tests.reconcile.day import T0, Day
from tests.statement.pyiso import Booking, write_camt053

ACCOUNT = "15050171001234567890"
TUE, WED = date(2026, 3, 3), date(2026, 3, 4)


def settlement(kind: SettlementKind, key: str, net: int, **detail: object) -> Settlement:
    dates = ("2026-03-02",) if kind is SettlementKind.PROVIDER else ()
    return Settlement(
        kind, key, f"{kind.value} {key}", "CNY", T0 + timedelta(hours=9), net,
        dates=dates, detail=dict(detail),  # type: ignore[arg-type]
    )  # fmt: skip


@pytest.fixture
def day(tmp_path: Path, journal_url: str) -> Iterator[Day]:
    d = Day.open(tmp_path, journal_url)
    d.owe(1, "300.00")
    d.settle("hall-1", settlement(SettlementKind.TERMINAL, "eod-1", 50000))
    d.settle("hall-2", settlement(SettlementKind.TERMINAL, "eod-2", 70000))
    d.settle("wx", settlement(SettlementKind.PROVIDER, "2026-03-02", 30000, fee_minor=180))
    d.settle("ali", settlement(SettlementKind.PROVIDER, "2026-03-02", 20000))
    d.settle("bank", settlement(SettlementKind.BANK, "f1", 100000, refs=["MSG-1"]))
    yield d
    d.journal.close()


def statements(folder: Path, *, tue_opening: int = 0) -> list[Path]:
    tue = [
        Booking(50000, TUE, bank_ref="B-1", text="银联商务 结算"),
        Booking(29820, TUE, bank_ref="B-2", text="财付通 结算款"),
        Booking(99500, TUE, bank_ref="B-3", batch=("MSG-1", "PMT-1")),
        Booking(1234, TUE, bank_ref="B-4", text="?"),
    ]
    wed = [Booking(20000, WED, bank_ref="B-5", text="支付宝 结算款")]
    closing_tue = tue_opening + sum(b.minor for b in tue)
    return [
        write_camt053(folder / "tue.xml", account=ACCOUNT, stmt_id="ST-0303", day=TUE,
                      opening_minor=tue_opening, bookings=tue),
        write_camt053(folder / "wed.xml", account=ACCOUNT, stmt_id="ST-0304", day=WED,
                      opening_minor=closing_tue, bookings=wed),
    ]  # fmt: skip


def test_each_settlement_is_found_arrived_late_short_or_missing(day: Day, tmp_path: Path) -> None:
    rec = reconcile(day.journal, day.roster, statements=statements(tmp_path))
    assert rec.arrivals is not None
    got = {a.channel: (a.status, a.expected_minor, a.arrived_minor) for a in rec.arrivals.arrivals}
    assert got == {
        "hall-1": ("in_full", 50000, 50000),
        "hall-2": ("missing", 70000, 0),
        "wx": ("in_full", 29820, 29820),  # net of the fee the bill declared
        "ali": ("late", 20000, 20000),  # T+1 is Tuesday; it came on Wednesday
        "bank": ("short", 100000, 99500),
    }
    by = {a.channel: a for a in rec.arrivals.arrivals}
    assert by["bank"].matched_by == "reference" and by["hall-1"].matched_by == "amount and date"
    # every difference names the settlement and the statement line
    assert "bank f1" in by["bank"].note and "tue.xml line" in by["bank"].note
    assert "5.00 short" in by["bank"].note
    assert "wed.xml line" in by["ali"].note and "1 working day(s) late" in by["ali"].note
    assert by["hall-2"].note.startswith("terminal eod-2: 700.00 due by 2026-03-03")
    [odd] = rec.arrivals.unexplained
    assert odd.startswith("tue.xml line") and "12.34" in odd
    assert rec.in_full_and_on_time is False
    verdict = rec.arrivals.verdict()
    assert "late: ali" in verdict and "short: bank" in verdict and "missing: hall-2" in verdict
    funnel = {f.channel: f for f in rec.arrivals.funnels}
    assert (funnel["bank"].settled_minor, funnel["bank"].credited_minor) == (100000, 99500)
    assert funnel["bank"].short_minor == 500 and funnel["hall-2"].missing_minor == 70000
    assert funnel["ali"].late_minor == 20000
    arrival_concerns = [c.text for c in rec.concerns if c.category == "arrival"]
    assert len(arrival_concerns) == 4  # late, short, missing, the unexplained credit


def test_a_settlement_not_due_yet_is_not_missing(day: Day, tmp_path: Path) -> None:
    rules = ArrivalRules(cycles={"hall-2": 3})  # this acquirer settles T+3: Thursday
    rec = reconcile(day.journal, day.roster, statements=statements(tmp_path), rules=rules)
    assert rec.arrivals is not None
    [hall2] = [a for a in rec.arrivals.arrivals if a.channel == "hall-2"]
    assert (hall2.status, hall2.due) == ("not_due", date(2026, 3, 5))


def test_the_cycle_counts_working_days_of_the_holiday_calendar(tmp_path: Path) -> None:
    # Spring Festival 2026: Saturday 02-14 is a make-up working day, 02-15..02-23 holidays.
    # A bill of 02-14 settled T+1 is due Tuesday 02-24: a credit that day is on time; one of
    # Friday 02-13 is due on the make-up Saturday, so Tuesday is late.
    bills = {
        "wx": [_bill("2026-02-14", 30000)],
        "ali": [_bill("2026-02-13", 20000)],
    }
    path = write_camt053(
        tmp_path / "s.xml", account=ACCOUNT, stmt_id="ST-0224", day=date(2026, 2, 24),
        opening_minor=0,
        bookings=[Booking(30000, date(2026, 2, 24)), Booking(20000, date(2026, 2, 24))],
    )  # fmt: skip
    report = check_arrivals(bills, {}, [path], ArrivalRules())
    got = {a.channel: (a.due, a.status) for a in report.arrivals}
    assert got == {
        "wx": (date(2026, 2, 24), "in_full"),
        "ali": (date(2026, 2, 14), "late"),
    }


def _bill(day: str, net: int) -> Settlement:
    return Settlement(SettlementKind.PROVIDER, day, f"bill {day}", "CNY", T0, net, dates=(day,))


def test_a_settlement_with_nothing_to_pay_is_not_missing(tmp_path: Path) -> None:
    # a status report that accepted a file (net 0.00) and a day's bill that nets to nothing
    nothing = {
        "bank": [settlement(SettlementKind.BANK, "ack", 0, refs=["MSG-0"])],
        "wx": [_bill("2026-03-02", 0)],
    }
    path = write_camt053(
        tmp_path / "s.xml", account=ACCOUNT, stmt_id="S", day=TUE, opening_minor=0, bookings=[]
    )
    report = check_arrivals(nothing, {}, [path], ArrivalRules())
    assert [(a.channel, a.status) for a in report.arrivals] == [("bank", "in_full")]
    assert report.in_full_and_on_time


def test_a_bank_text_export_is_matched_like_a_camt053(tmp_path: Path) -> None:
    # a 建行-style GB18030 export: one amount and a 借/贷 direction per booking
    text = (
        f"{ACCOUNT},CCB0303,2026-03-03,2026-03-03,0.00,795.00\r\n"
        "2026-03-03,贷,500.00,500.00,F1,银联结算,银联商务\r\n"
        "2026-03-03,贷,300.00,800.00,F2,MSG-1,内蒙古农信\r\n"
        "2026-03-03,借,5.00,795.00,F3,手续费,\r\n"
    )
    path = tmp_path / "ccb.txt"
    path.write_bytes(text.encode("gb18030"))
    found = {
        "hall-1": [settlement(SettlementKind.TERMINAL, "eod-1", 50000)],
        "bank": [settlement(SettlementKind.BANK, "f1", 30000, refs=["MSG-1"])],
    }
    report = check_arrivals(found, {}, [path], ArrivalRules(account=ACCOUNT), layout="ccb")
    got = {a.channel: (a.status, a.matched_by) for a in report.arrivals}
    assert got == {"hall-1": ("in_full", "amount and date"), "bank": ("late", "reference")}
    # the fee taken from the account is money out under no settlement: named, not ignored
    [fee] = report.unexplained
    assert fee.startswith("ccb.txt line 4: debit of 5.00") and "手续费" in fee
    assert report.statements.notes == []
