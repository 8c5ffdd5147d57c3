"""``paychannels reconcile --statement``: the third level on the command line, in the text
summary, the JSON and the HTML report (which draws the funnel); a statement for another
account is a mistake (exit 2); the same statement given twice counts once."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from paychannels.cli.main import main
from tests.reconcile.day import Day
from tests.statement.pyiso import Booking, write_camt053
from tests.statement.test_arrivals import (
    ACCOUNT,
    TUE,
    day,  # noqa: F401 - the fixture
    statements,
)


def _run(d: Day, out: Path, *extra: str) -> int:
    return main(["reconcile", *d.inputs(), "--out", str(out), *extra])


@pytest.mark.parametrize("journal_url", ["sqlite"], indirect=True)
def test_reconcile_with_statements_reports_arrivals(
    day: Day,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tue, wed = statements(tmp_path)
    args = ["--statement", str(tue), "--statement", str(wed), "--account", ACCOUNT]
    assert _run(day, tmp_path / "o", *args) == 1
    text = capsys.readouterr().out
    assert "NOT in full and on time" in text and "late: ali" in text and "short: bank" in text
    assert "bank short: bank f1: 1000.00 due by 2026-03-02" in text
    html = (tmp_path / "o" / "report.html").read_text("utf-8")
    assert "collected → settled → credited" in html and "逾期 late" in html
    assert "tue.xml line" in html and ACCOUNT not in html
    summary = json.loads((tmp_path / "o" / "summary.json").read_text("utf-8"))
    arrivals = summary["arrivals"]
    assert arrivals["in_full_and_on_time"] is False
    assert arrivals["statements"]["account"] == "****7890"
    assert {a["channel"]: a["status"] for a in arrivals["arrivals"]}["bank"] == "short"
    # the same statement twice (a copy under another name): every credit counted once
    copy = tmp_path / "tue-again.xml"
    shutil.copy(tue, copy)
    args += ["--statement", str(copy)]
    assert _run(day, tmp_path / "o2", *args) == 1
    again = json.loads((tmp_path / "o2" / "summary.json").read_text("utf-8"))["arrivals"]
    assert again["funnels"] == arrivals["funnels"]
    assert again["statements"]["credits"] == arrivals["statements"]["credits"] == 5
    assert any("same file as" in n for n in again["statements"]["notes"])


@pytest.mark.parametrize("journal_url", ["sqlite"], indirect=True)
def test_a_statement_for_another_account_is_a_mistake(
    day: Day,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    other = write_camt053(
        tmp_path / "other.xml", account="62220000123456789", stmt_id="X", day=TUE,
        opening_minor=0, bookings=[Booking(100, TUE)],
    )  # fmt: skip
    code = _run(day, tmp_path / "o", "--statement", str(other), "--account", ACCOUNT)
    assert code == 2
    err = capsys.readouterr().err
    assert "other.xml" in err and "not the collection account ****7890" in err
