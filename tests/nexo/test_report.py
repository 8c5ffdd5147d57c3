"""The cloud terminal's settlement report: read from fixtures, refused when wrong, fuzzed,
and downloaded from the simulated acquirer into the journal's settlement figures."""

from __future__ import annotations

import contextlib
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paychannels import Money, Status
from paychannels.channels.settlement import SettlementKind, recorded_settlements
from paychannels.drivers.nexo.report import read_settlement_report, report_name
from paychannels.providers.bills import BillError
from paychannels.runtime.clock import BEIJING
from tests.nexo.conftest import Hall

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "nexo" / "settlement_report_day.csv"
DAY = datetime(2026, 11, 26).date()


def test_report_fixture_reads_payments_refunds_and_the_acquirers_fees() -> None:
    bill = read_settlement_report(FIXTURE.read_bytes(), day=DAY, source="fixture")
    assert [(x.record_id, x.kind, x.minor) for x in bill.lines] == [
        ("pay_01J0000000000000000000001", "payment", 38000),
        ("pay_01J0000000000000000000002", "payment", 150000),
        ("rfd_01J0000000000000000000003", "refund", 50000),
        ("psp:8829001234000104", "payment", 20000),  # keyed on the terminal: not ours
    ]
    assert bill.currency == "CNY" and "left out" not in bill.source
    # commission 2.28 + 9.00 + 1.20, less 3.00 given back on the refund, and a Fee row's 5.00
    assert bill.fee_minor == 228 + 900 + 120 - 300 + 500
    s = bill.settlement(datetime(2026, 11, 26, 23, 0, tzinfo=BEIJING))
    assert s.kind is SettlementKind.PROVIDER and s.dates == ("2026-11-26",)
    assert (s.payments, s.gross_minor, s.refunds, s.net_minor) == (3, 208000, 1, 158000)
    assert s.detail["fee_minor"] == 1448


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace(",377.72,2.28,", ",377.72,2.27,"), "line 2, column 'Commission"),
        (lambda t: t.replace(",497.00,,3.00,", ",497.00,,2.00,"), "line 4, column 'Commission"),
        (lambda t: t.replace("CNY,,377.72", "USD,,377.72"), "line 2, column 'Net Currency'"),
        (lambda t: t.replace(",12.48,", ",1x,").replace("CNY,5.00,,CNY,5.00", "CNY,5.00,,CNY,5.0x"),
         "line 6, column 'Net Debit"),
    ],
)  # fmt: skip
def test_report_fees_that_do_not_add_up_are_refused(edit: object, message: str) -> None:
    text = edit(FIXTURE.read_text("utf-8"))  # type: ignore[operator]
    with pytest.raises(BillError, match=message):
        read_settlement_report(text.encode(), day=DAY, source="fixture")


def test_a_report_without_net_columns_states_no_fees() -> None:
    """An older report (gross only): no fees read, Fee rows left out and counted."""
    rows = [line.split(",") for line in FIXTURE.read_text("utf-8").splitlines()]
    keep = [i for i, name in enumerate(rows[0]) if "(NC)" not in name and name != "Net Currency"]
    text = "\n".join(",".join(r[i] for i in keep) for r in rows)
    bill = read_settlement_report(text.encode(), day=DAY, source="old")
    assert bill.fee_minor == 0 and "1 Fee row(s) left out" in bill.source


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("Gross Credit (GC)", "Gross (GC)"), "line 1: no column 'Gross Credit"),
        (lambda t: t.replace(",380.00,", ",380.001,"), "line 2, column 'Gross Credit (GC)'"),
        (lambda t: t.replace(",1500.00,", ",-1500.00,"), "line 3, column 'Gross Credit (GC)'"),
        (lambda t: t.replace("rfd_01J0000000000000000000003", ""), "line 4, column 'Modif"),
        (lambda t: t.replace(",CNY,500.00,,CNY,", ",EUR,500.00,,EUR,"), "more than one currency"),
        (lambda t: t.replace(",unionpay,2026-11-26 09:12:03", ""), "line 2: 16 columns"),
    ],
)
def test_a_wrong_report_is_refused_naming_line_and_column(edit: object, message: str) -> None:
    text = FIXTURE.read_text(encoding="utf-8")
    assert callable(edit)
    with pytest.raises(BillError) as raised:
        read_settlement_report(edit(text).encode(), day=DAY, source="fixture")
    assert message in str(raised.value)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600) | st.text(max_size=400).map(lambda t: t.encode("utf-8")))
@pytest.mark.slow
def test_garbage_raises_only_bill_errors(raw: bytes) -> None:
    with contextlib.suppress(BillError):
        read_settlement_report(raw, day=DAY, source="fuzz")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(alphabet='0123456789.,-"\n ABCDSettledRefundFee', max_size=30)))
def test_mangled_rows_under_a_good_header_raise_only_bill_errors(rows: list[str]) -> None:
    header = FIXTURE.read_text(encoding="utf-8").splitlines()[0]
    with contextlib.suppress(BillError):
        read_settlement_report("\n".join([header, *rows]).encode(), day=DAY, source="fuzz")


@pytest.mark.slow
def test_downloaded_report_is_the_terminals_truth_and_reaches_the_journal(hall: Hall) -> None:
    paid = [hall.pay("380.00"), hall.pay("1500.00")]
    assert all(p.status is Status.SUCCEEDED for p in paid)
    refund = hall.col.refund(paid[1].id, Money("500.00", "CNY"))
    assert refund.status is Status.SUCCEEDED
    voided = hall.pay("200.00")
    assert hall.col.cancel(voided.id).status is Status.REVERSED
    today = datetime.now(BEIJING).date()
    bill = hall.channel.download_report(hall.col.channel_context("cloud"), today)
    assert sorted((x.record_id, x.kind, x.minor) for x in bill.lines) == sorted(
        [
            (paid[0].id, "payment", 38000),
            (paid[1].id, "payment", 150000),
            (refund.id, "refund", 50000),
        ]
    )
    stored = recorded_settlements(hall.col.journal)["cloud"]
    assert [s.net_minor for s in stored] == [38000 + 150000 - 50000]
    # the acquirer's 0.6 % commission, rounded down per row, given back on the refund
    assert stored[0].detail["fee_minor"] == 228 + 900 - 300
    # what the report shows a clerk: the terminal and the report's file, no URL of either
    assert "://" not in stored[0].source and report_name(today) in stored[0].source
    assert hall.channel.settings.who.poiid in stored[0].source
    again = hall.channel.download_report(hall.col.channel_context("cloud"), today)
    assert again.lines == bill.lines
    assert len(recorded_settlements(hall.col.journal)["cloud"]) == 1  # replaced, not doubled


@pytest.mark.slow
def test_report_needs_the_api_key(hall: Hall) -> None:
    reply = httpx.get(f"{hall.base}/reports/settlement_detail_report_2026_11_26.csv")
    assert reply.status_code == 401


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["Settled", "Refunded", "Fee"]), st.integers(1, 10**8),
                  st.integers(0, 10**5)),
        min_size=1, max_size=8,
    )
)  # fmt: skip
def test_report_fees_are_gross_less_net_row_by_row(rows: list[tuple[str, int, int]]) -> None:
    """Any rows: the fee is each payment's commission, less each refund's given back, plus
    each Fee row's debit — exactly, in fen."""
    header = FIXTURE.read_text("utf-8").splitlines()[0]
    lines, expected = [header], 0
    for i, (kind, gross, fee) in enumerate(rows):
        fee = min(fee, gross)
        g, n, f = (f"{v // 100}.{v % 100:02d}" for v in (gross, gross - fee, fee))
        if kind == "Settled":
            expected += fee
            cells = [f"8800{i}", f"pay_{i:023d}", "CNY", "", g, "CNY", "", n, f, ""]
        elif kind == "Refunded":
            expected -= fee
            cells = [f"8800{i}", f"pay_{i:023d}", "CNY", g, "", "CNY", n, "", f, f"rfd_{i:023d}"]
        else:
            expected += gross
            cells = ["", "", "CNY", g, "", "CNY", g, "", "", ""]
        psp, ours, gc, gd, gcr, nc, nd, ncr, com, mod = cells
        lines.append(
            f"C,M,{psp},{ours},unionpay,2026-11-26 09:00:00,CST,{kind},,{gc},{gd},{gcr},{nc},"
            f"{nd},{ncr},{com},1,{mod}"
        )
    bill = read_settlement_report("\n".join(lines).encode(), day=DAY, source="gen")
    assert bill.fee_minor == expected
