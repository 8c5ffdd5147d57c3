"""The data the bank channel runs on: reason codes, the calendar, layouts, ids, the CLI."""

from __future__ import annotations

import contextlib
import io
import json
from datetime import date
from pathlib import Path

import pytest

from paychannels import ConfigurationError, Reason
from paychannels.bankfiles.calendar import load_calendar
from paychannels.bankfiles.ids import end_to_end_id, message_id, payment_of
from paychannels.bankfiles.layout import available_layouts, load_layout
from paychannels.bankfiles.reasoncodes import code_of, describe, lookup, table
from paychannels.cli.main import main
from paychannels.simulators.cli import main as sim_main

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "bank"


@pytest.mark.parametrize(
    ("code", "text", "reason", "retryable", "notify"),
    [
        ("AM04", None, Reason.INSUFFICIENT_FUNDS, True, True),
        ("AC04", None, Reason.ACCOUNT_CLOSED, False, True),
        ("MD01", None, Reason.NO_MANDATE, False, True),
        ("MD07", None, Reason.DEBTOR_DECEASED, False, False),
        ("MS02", None, Reason.REFUSED_BY_DEBTOR, False, True),
        ("R01", None, Reason.INSUFFICIENT_FUNDS, True, True),
        ("R02", None, Reason.ACCOUNT_CLOSED, False, True),
        (None, "扣款失败：账户余额不足", Reason.INSUFFICIENT_FUNDS, True, True),
        ("E", "账户已销户", Reason.ACCOUNT_CLOSED, False, True),
        (None, "代理户不存在", Reason.NO_MANDATE, False, True),
        ("户名不符", None, Reason.NAME_MISMATCH, False, True),
    ],
)
def test_reason_table(
    code: str | None, text: str | None, reason: Reason, retryable: bool, notify: bool
) -> None:
    rc = lookup(code, text)
    assert (rc.reason, rc.retryable, rc.notify_payer, rc.known) == (reason, retryable, notify, True)
    assert lookup(code_of(describe(rc))).reason is reason, "a reason_detail leads back to its code"


def test_unknown_codes_are_kept_and_marked() -> None:
    rc = lookup("ZZ99", "something new")
    assert (rc.known, rc.reason, rc.code, rc.retryable) == (False, Reason.UNMAPPED, "ZZ99", False)
    assert len({(r.scheme, r.code) for r in table()}) == len(table()), "no code twice"


def test_calendar_knows_make_up_working_days() -> None:
    cn = load_calendar("cn")
    assert cn.is_business_day(date(2026, 2, 14))  # Saturday, 调休
    assert not cn.is_business_day(date(2026, 2, 16))  # Monday, Spring Festival
    assert cn.next_business_day(date(2026, 2, 15)) == date(2026, 2, 24)
    assert cn.next_business_day(date(2025, 9, 30), after=1) == date(2025, 10, 9)
    assert cn.covers(date(2026, 6, 1)) and not cn.covers(date(2031, 1, 1))
    assert load_calendar("weekends").is_business_day(date(2026, 2, 16))


def test_a_calendar_is_a_data_file(tmp_path: Path) -> None:
    path = tmp_path / "bank.toml"
    path.write_text(
        'name = "x"\n[year.2027]\nholidays = ["2027-01-01..2027-01-03"]\n'
        'workdays = ["2027-01-09"]\n'
    )
    cal = load_calendar(path)
    assert cal.next_business_day(date(2027, 1, 1)) == date(2027, 1, 4) and cal.is_business_day(
        date(2027, 1, 9)
    )
    path.write_text('[year.2027]\nholidays = ["2027-01-09"]\nworkdays = ["2027-01-09"]\n')
    with pytest.raises(ConfigurationError, match="both a holiday and a working day"):
        load_calendar(path)


def test_ids_are_short_deterministic_and_lead_back() -> None:
    e2e = end_to_end_id("pay_01JD3M8Q2W5X7Y9Z0ABCDEFGHJ", 3)
    assert e2e == "01JD3M8Q2W5X7Y9Z0ABCDEFGHJ-3" and len(e2e) <= 35
    assert payment_of(e2e) == ("pay_01JD3M8Q2W5X7Y9Z0ABCDEFGHJ", 3)
    assert payment_of("SOMEONE-ELSES-REF") is None
    assert message_id("KYQ", date(2026, 3, 2), 42) == "KYQ20260302000042"


def test_shipped_layouts_load_and_bad_ones_say_why(tmp_path: Path) -> None:
    assert set(available_layouts()) >= {"icbc-fixed", "ccb-pipe"}
    for name in available_layouts():
        assert load_layout(name).serial_field().width >= 28
    bad = tmp_path / "bank.toml"
    bad.write_text(
        (Path(load_layout.__code__.co_filename).parent / "layouts" / "icbc-fixed.toml")
        .read_text("utf-8")
        .replace('width = 35 },\n  { name = "备注"', 'width = 12 },\n  { name = "备注"'),
        "utf-8",
    )
    with pytest.raises(ConfigurationError, match="serial"):
        load_layout(bad)
    with pytest.raises(ConfigurationError, match="shipped layouts"):
        load_layout("no-such-bank")


def run(entry: object, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = entry(list(argv))  # type: ignore[operator]
    return code, out.getvalue()


def test_validate_command(tmp_path: Path) -> None:
    from tests.bank.test_writers import debit, write

    (path,), _ = write(tmp_path, "pain.008.001.08", [debit(i) for i in range(30)])
    code, out = run(main, "batch", "validate", str(path), "--json")
    summary = json.loads(out)
    assert code == 0 and summary["xsd"] == "valid" and summary["debits"] == 30
    text = path.read_text("utf-8").replace("<NbOfTxs>30</NbOfTxs>", "<NbOfTxs>31</NbOfTxs>", 1)
    path.write_text(text, "utf-8")
    assert run(main, "batch", "validate", str(path))[0] == 2


def test_ingest_without_a_build_is_a_readable_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run(
        main,
        "batch",
        "ingest",
        str(FIXTURES / "status_rejected_v03.xml"),
        "--db",
        f"sqlite:///{tmp_path}/j.db",
    )
    # no journal at that path: refused as such (it used to create one, then say "batch build")
    assert code == 2 and "no journal at" in capsys.readouterr().err


@pytest.mark.slow
def test_simulator_command_once(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    code, out = run(
        sim_main,
        "bank",
        "--inbox",
        str(tmp_path / "in"),
        "--outbox",
        str(tmp_path / "out"),
        "--once",
    )
    assert code == 0 and out == ""
