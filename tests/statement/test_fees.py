"""Fees at the arrival level: what a channel keeps back is in full when declared, short when
not.

An Alipay bill (read by the real reader from the documented layout, fees in 服务费) and a
cloud acquirer's report (fees as gross less net) declare their fees; a terminal batch
cannot, so the channel's fee rate is declared in the arrival rules. A credit of the net
less exactly those fees is in full; a credit short by more stays short, naming the
settlement and the statement line. The settlements are kept in a real journal, SQLite and
PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paychannels.channels.settlement import Settlement, SettlementKind
from paychannels.drivers.nexo.report import read_settlement_report
from paychannels.providers.alipay.bill import read_trade_bill
from paychannels.reconcile import reconcile
from paychannels.reconcile.arrivals import ArrivalRules, load_arrival_rules, parse_fee_rate
from paychannels.values.errors import ConfigurationError
from tests.providers.test_bills import alipay_text, alipay_zip_with_summary, summary_text
from tests.reconcile.day import Day
from tests.statement.pyiso import Booking, write_camt053

ACCOUNT = "15050171001234567890"
BILL_DAY, DUE = date(2026, 1, 5), date(2026, 1, 6)  # a Monday; T+1 is Tuesday
NEXO = Path(__file__).resolve().parents[2] / "fixtures" / "nexo" / "settlement_report_day.csv"


@pytest.fixture
def day(tmp_path: Path, journal_url: str) -> Iterator[Day]:
    d = Day.open(tmp_path, journal_url)
    d.owe(1, "300.00")
    yield d
    d.journal.close()


def alipay_settlement() -> Settlement:
    """The documented bill: 480.00 taken, 100.00 refunded, 服务费 2.28 + 0.60 kept back."""
    data = alipay_zip_with_summary(alipay_text(), summary_text())
    bill = read_trade_bill(data, day=BILL_DAY, seller_id="2088101122136241")
    return bill.settlement(datetime(2026, 1, 6, 1, 0, tzinfo=UTC))


def statement(folder: Path, *bookings: Booking, day: date = DUE) -> list[Path]:
    path = write_camt053(
        folder / "tue.xml", account=ACCOUNT, stmt_id="ST-1", day=day, opening_minor=0,
        bookings=list(bookings),
    )  # fmt: skip
    return [path]


def arrivals(day: Day, paths: list[Path], rules: ArrivalRules) -> dict[str, object]:
    rec = reconcile(day.journal, day.roster, statements=paths, rules=rules)
    assert rec.arrivals is not None
    return {a.channel: a for a in rec.arrivals.arrivals}


ALI_RULES = ArrivalRules(account=ACCOUNT, refs={"ali": ("ALIPAY-PAYOUT-0105",)})


def test_alipay_net_less_its_fees_arrives_in_full(day: Day, tmp_path: Path) -> None:
    """Before: 377.12 arrived for a settlement of 380.00 -> short 2.88. Now: in full."""
    day.settle("ali", alipay_settlement())
    paid = Booking(37712, DUE, batch=("ALIPAY-PAYOUT-0105", "P1"), text="支付宝 结算款")
    [ali] = arrivals(day, statement(tmp_path, paid), ALI_RULES).values()
    assert (ali.status, ali.expected_minor, ali.arrived_minor) == ("in_full", 37712, 37712)
    assert "380.00 less 2.88 fees (declared by the channel)" in ali.note


def test_alipay_net_less_its_fees_is_found_by_amount_and_date(day: Day, tmp_path: Path) -> None:
    day.settle("ali", alipay_settlement())
    got = arrivals(day, statement(tmp_path, Booking(37712, DUE)), ArrivalRules(account=ACCOUNT))
    assert (got["ali"].status, got["ali"].matched_by) == ("in_full", "amount and date")


def test_the_summary_shows_the_fees_between_settled_and_credited(day: Day, tmp_path: Path) -> None:
    from paychannels.reconcile.report import summary_text

    day.settle("ali", alipay_settlement())
    rec = reconcile(day.journal, day.roster, statements=statement(tmp_path, Booking(37712, DUE)))
    [row] = [line for line in summary_text(rec).splitlines() if line.startswith("ali ")]
    assert row.split()[1:5] == ["0.00", "380.00", "2.88", "377.12"]


def test_a_credit_short_by_more_than_the_fees_stays_short(day: Day, tmp_path: Path) -> None:
    day.settle("ali", alipay_settlement())
    paid = Booking(37700, DUE, batch=("ALIPAY-PAYOUT-0105", "P1"))
    [ali] = arrivals(day, statement(tmp_path, paid), ALI_RULES).values()
    assert (ali.status, ali.arrived_minor) == ("short", 37700)
    # both sides named: the bill and the statement line, and only what is beyond the fees
    assert ali.note.startswith("Alipay trade bill of 2026-01-05: 380.00 less 2.88 fees")
    assert "tue.xml line" in ali.note and "0.12 short" in ali.note


def test_the_acquirers_report_fees_are_expected_kept_back(day: Day, tmp_path: Path) -> None:
    bill = read_settlement_report(NEXO.read_bytes(), day=date(2026, 11, 26), source="report")
    day.settle("cloud", bill.settlement(datetime(2026, 11, 26, 15, 0, tzinfo=UTC)))
    net = 158000 - 1448  # payments less the refund, less the acquirer's fees
    paths = statement(tmp_path, Booking(net, date(2026, 11, 27)), day=date(2026, 11, 27))
    got = arrivals(day, paths, ArrivalRules(account=ACCOUNT))
    assert (got["cloud"].status, got["cloud"].expected_minor) == ("in_full", net)


def terminal_batch(net: int, **detail: object) -> Settlement:
    """A MIS-POS batch: its total, nothing about fees (the acquirer deducts them)."""
    return Settlement(
        SettlementKind.TERMINAL, "000017", "MIS-POS settlement of batch 000017", "CNY",
        datetime(2026, 1, 5, 10, 0, tzinfo=UTC), net, batch="000017",
        detail=dict(detail),  # type: ignore[arg-type]
    )  # fmt: skip


def write_rules(folder: Path, body: str) -> Path:
    path = folder / "arrivals.toml"
    path.write_text(f'account = "{ACCOUNT}"\n' + body, "utf-8")
    return path


def test_a_terminals_declared_fee_rate_is_in_full(day: Day, tmp_path: Path) -> None:
    """0.38 % of 500.00 is 1.90: 498.10 arriving is in full; 497.00 is short 1.10."""
    day.settle("hall-1", terminal_batch(50000))
    rules = load_arrival_rules(
        write_rules(tmp_path, '[channel.hall-1]\nfee = "0.38%"\nrefs = ["UMS-0105"]\n')
    )
    assert rules.fee_rates == {"hall-1": Decimal("0.0038")}
    [hall] = arrivals(day, statement(tmp_path, Booking(49810, DUE)), rules).values()
    assert (hall.status, hall.expected_minor, hall.fee_minor) == ("in_full", 49810, 190)
    assert "500.00 less 1.90 fees (0.38% declared in the rules)" in hall.note
    short = statement(tmp_path, Booking(49700, DUE, batch=("UMS-0105", "P")))
    [hall] = arrivals(day, short, rules).values()
    assert hall.status == "short" and "1.10 short" in hall.note and "tue.xml line" in hall.note


def test_without_a_declared_rate_the_fee_is_short(day: Day, tmp_path: Path) -> None:
    day.settle("hall-1", terminal_batch(50000))
    [hall] = arrivals(day, statement(tmp_path, Booking(49810, DUE)), ArrivalRules()).values()
    assert hall.status == "missing"  # nothing of 500.00 arrived; 498.10 is unexplained


def test_fees_the_channel_declared_win_over_the_rules_rate(day: Day, tmp_path: Path) -> None:
    day.settle("ali", alipay_settlement())
    rules = ArrivalRules(account=ACCOUNT, fee_rates={"ali": Decimal("0.01")})
    got = arrivals(day, statement(tmp_path, Booking(37712, DUE)), rules)
    assert (got["ali"].status, got["ali"].fee_minor) == ("in_full", 288)


@pytest.mark.parametrize(
    "rate", ['"0.38"', '"-0.1%"', '"abc"', '"6%"', "0.0038", '"sNaN%"', '"Infinity"', '""']
)
def test_a_fee_rate_that_is_not_one_is_refused(tmp_path: Path, rate: str) -> None:
    with pytest.raises(ConfigurationError, match="fee"):
        load_arrival_rules(write_rules(tmp_path, f"[channel.hall-1]\nfee = {rate}\n"))


def test_a_rate_of_a_fraction_reads_the_same(tmp_path: Path) -> None:
    rules = load_arrival_rules(write_rules(tmp_path, '[channel.x]\nfee = "0.0038"\n'))
    assert rules.fee_rates == {"x": Decimal("0.0038")}


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=0, max_value=Decimal("0.05"), places=6))
def test_a_rate_reads_the_same_as_a_percentage_or_a_fraction(rate: Decimal) -> None:
    assert parse_fee_rate(f"{rate:f}") == rate
    assert parse_fee_rate(f"{rate * 100:f}%") == rate


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=12))
def test_any_text_is_a_rate_or_a_configuration_error(text: str) -> None:
    try:
        rate = parse_fee_rate(text)
    except ConfigurationError:
        return
    assert 0 <= rate <= Decimal("0.05")
