"""``paychannels reconcile``: exit status, the summary, CSV files, JSON and the HTML report."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from paychannels.cli.main import main
from paychannels.documents.bilingual import mn
from tests.reconcile.day import Day, payer


@pytest.fixture
def day(tmp_path: Path) -> Day:
    d = Day.open(tmp_path, f"sqlite:///{tmp_path}/j.db")
    d.owe(1, "300.00", name="王小明", town="索伦镇")
    d.owe(2, "200.00", name="ᠪᠠᠲᠤ", town="察尔森镇")
    d.owe(3, "300.00", name="李四", town="索伦镇")
    d.pay(1, "300.00", channel="memory", operator="柜员-王丽")
    d.pay(3, "300.00", channel="memory"), d.pay(3, "300.00", channel="memory", again=True)
    d.journal.close()
    return d


def test_the_command_writes_every_output_and_says_not_balanced(
    day: Day, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = main(
        [
            "reconcile",
            *day.inputs(),
            "--out",
            str(out),
        ]
    )
    assert code == 1  # paid twice, and "memory" has no settlement figures
    text = capsys.readouterr().out
    assert "paid_twice" in text and "NOT BALANCED" in text
    assert "settlement memory (none): unchecked" in text
    rows = list(csv.DictReader((out / "details.csv").open(encoding="utf-8-sig")))
    assert [r["category"] for r in rows] == ["paid", "unpaid", "paid_twice"]
    assert rows[0]["payer_id"] == payer(1)[:6] + "********" + payer(1)[-4:]
    assert rows[0]["owed"] == "300.00" and rows[2]["received"] == "600.00"
    assert rows[2]["channels"] == "memory" and rows[2]["records"].count(";") == 1
    attention = (out / "attention.csv").read_text("utf-8-sig")
    assert "paid_twice" in attention and "unchecked" not in attention.split("\n")[0]
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    assert summary["balanced"] is False and summary["doubled"] == 1
    assert summary["totals"]["counts"] == {"paid": 1, "unpaid": 1, "paid_twice": 1}
    assert summary["unchecked_channels"] == ["memory"]
    ops = {o["operator"]: o["held_minor"] for o in summary["operators"]}
    assert ops["柜员-王丽"] == 30000 and sum(ops.values()) == 90000
    html = (out / "report.html").read_text("utf-8")
    assert "<svg" in html and 'class="township"' in html and "<table" in html
    assert "社会保险费对账报告" in html and mn("reconciliation") in html
    assert "索伦镇" in html and "察尔森镇" in html
    # self-contained: nothing is fetched (the SVG namespace is a name, not a request)
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", html)
    assert "<script" not in html.lower() and "@import" not in html and "url(" not in html
    # full ID numbers appear nowhere in what was written
    for path in out.iterdir():
        written = path.read_text("utf-8-sig")
        for n in (1, 2, 3):
            assert payer(n) not in written, path.name


def test_json_on_stdout_and_exit_zero_when_balanced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = Day.open(tmp_path, f"sqlite:///{tmp_path}/j.db")
    d.owe(1, "300.00")
    d.journal.close()
    code = main(
        [
            "reconcile",
            *d.inputs(),
            "--out",
            str(tmp_path / "o"),
            "--json",
        ]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["balanced"] is True and summary["totals"]["obligations"] == 1
    assert set(summary["files"]) == {"html", "details", "unpaid", "attention", "json"}


def test_a_roster_problem_is_a_user_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Day.open(tmp_path, f"sqlite:///{tmp_path}/j.db").journal.close()
    bad = tmp_path / "r.csv"
    bad.write_text("证件号码,姓名,应缴金额,缴费期间\n150422198001011230,张三,1.00,2026\n", "utf-8")
    code = main(
        [
            "reconcile",
            "--roster",
            str(bad),
            "--db",
            f"sqlite:///{tmp_path}/j.db",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert code == 2
    assert "r.csv line 2, column payer_id: check digit" in capsys.readouterr().err
