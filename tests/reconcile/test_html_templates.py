"""The HTML a clerk reads, rendered from the package's Jinja2 templates.

The township chart tells something (lowest paid rate first, villages under a threshold called
out in words above it, amounts grouped as people read them); no report or notice carries a
technical string (a journal or channel URL, a Python repr); a payer or village named like
markup or like a template renders as text; the templates ship inside the package.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from html import unescape
from importlib import resources
from pathlib import Path

import jinja2
import pytest

from paychannels import Status
from paychannels.channels.settlement import Settlement, SettlementKind
from paychannels.documents.notices import Level, build_notices, notice_html, write_notices
from paychannels.reconcile import reconcile
from paychannels.reconcile.report import html_report, write_outputs
from paychannels.values.errors import ConfigurationError
from tests.reconcile.day import T0, Day
from tests.statement.test_arrivals import statements

ON = date(2026, 3, 3)
#: what a clerk must never read: URLs (a journal's or a channel's, with their options) and
#: the marks of a Python value printed as it is
TECHNICAL = (
    "://",
    "{'",
    "['",
    "None",
    "Record(",
    "Category.",
    "Status.",
    "Decimal(",
    "datetime.",
    "object at 0x",
    "Traceback",
    "options=",
    "search_path",
    "sqlite",
    "postgresql",
)


def _labels(html: str) -> list[str]:
    """The township labels of the progress chart, top to bottom."""
    return [unescape(t) for t in re.findall(r'class="township">([^<]*)</text>', html)]


def _full_day(folder: Path, url: str) -> Day:
    """A day with every kind of line a report can show: paid, unpaid, partly, twice, in
    doubt, outside the roster, a settlement mismatch, an unchecked channel, refunds."""
    d = Day.open(folder, url)
    towns = ("索伦镇", "察尔森镇", "科尔沁镇")
    for n in range(1, 13):
        d.owe(n, "1500.00", name=f"王{n}明", town=towns[n % 3], village=f"村{n % 2}")
    for n in (1, 2, 3, 4, 5, 6, 7, 8):
        d.pay(n, "1500.00", ref=f"29001234/{n:04d}/{n:06d}", operator="柜员-王丽")
    d.pay(9, "1500.00", taken="500.00", channel="bank")
    d.pay(10, "1500.00", status=Status.UNKNOWN, channel="wx")
    d.pay(8, "1500.00", channel="wx", again=True)
    d.pay(77, "300.00", channel="wx")  # not on the roster
    first = d.pay(11, "1500.00", channel="wx")
    d.refund(first, "1500.00", channel="wx")
    d.settle("hall-1", Settlement(
        SettlementKind.TERMINAL, "eod-1", "ZVT end of day", "CNY", T0 + timedelta(hours=8),
        1150000, 8, None, None, None, receipts=(1, 8),
    ))  # fmt: skip
    return d


@pytest.fixture
def day(tmp_path: Path) -> Day:
    d = Day.open(tmp_path, f"sqlite:///{tmp_path}/j.db")
    # 察尔森镇 2 of 2 paid (3,000.00); 索伦镇 1 of 3 (永兴村 0 of 1); 科尔沁镇 1 of 2
    d.owe(1, "1500.00", town="察尔森镇", village="巴彦嘎查")
    d.owe(2, "1500.00", town="察尔森镇", village="巴彦嘎查")
    d.owe(3, "300.00", town="索伦镇", village="新立村")
    d.owe(4, "300.00", town="索伦镇", village="新立村")
    d.owe(5, "300.00", town="索伦镇", village="永兴村")
    d.owe(6, "300.00", town="科尔沁镇", village="白音嘎查")
    d.owe(7, "300.00", town="科尔沁镇", village="新立村")
    for n in (1, 2, 3, 6):
        d.pay(n, "1500.00" if n < 3 else "300.00")
    return d


def test_the_chart_shows_the_lowest_paid_rate_first(day: Day) -> None:
    html = html_report(reconcile(day.journal, day.roster))
    assert _labels(html) == ["索伦镇", "科尔沁镇", "察尔森镇"]  # 33.3 %, 50 %, 100 %


def test_villages_below_the_threshold_are_called_out_above_the_chart(day: Day) -> None:
    rec = reconcile(day.journal, day.roster)
    html = html_report(rec)
    said = html[: html.index('class="chart"')]
    callout = re.search(r'<div class="callout[^"]*" id="below">(.*?)</div>', said, re.S)
    assert callout, "no call-out above the chart"
    text = re.sub(r"<[^>]+>", " ", callout.group(1))
    named = re.findall(r"(\S+镇 \S+)\s+([\d.]+)%", text)
    # lowest first; 察尔森镇 巴彦嘎查 and 科尔沁镇 白音嘎查 (100 %) are not named
    assert named == [
        ("科尔沁镇 新立村", "0.0"),
        ("索伦镇 永兴村", "0.0"),
        ("索伦镇 新立村", "50.0"),
    ]
    assert "90%" in text and "3" in text
    half = html_report(rec, call_out_below=50)  # a parameter: below half paid only
    named = re.findall(r"(\S+镇 \S+)\s+[\d.]+%", re.sub(r"<[^>]+>", " ", half))
    assert "索伦镇 新立村" not in named and "索伦镇 永兴村" in named
    none = html_report(rec, call_out_below=0)
    assert 'id="below"' in none and "0%" in none and "索伦镇 永兴村" not in none.split("<svg")[0]


@pytest.mark.parametrize("bad", [-1, 101, Decimal("NaN")])
def test_a_threshold_outside_0_to_100_is_refused(day: Day, bad: int | Decimal) -> None:
    rec = reconcile(day.journal, day.roster)
    with pytest.raises(ConfigurationError, match="call_out_below"):
        html_report(rec, call_out_below=bad)
    with pytest.raises(TypeError):
        html_report(rec, call_out_below=90.0)  # type: ignore[arg-type]


def test_chart_amounts_are_grouped_by_thousands(day: Day) -> None:
    html = html_report(reconcile(day.journal, day.roster))
    chart = html[html.index('class="chart"') : html.index("</svg>")]
    assert "3,000.00 CNY" in chart and "3000.00" not in chart


@pytest.mark.parametrize("journal_url", ["sqlite", "postgres"], indirect=True)
def test_no_report_or_notice_holds_a_technical_string(journal_url: str, tmp_path: Path) -> None:
    d = _full_day(tmp_path, journal_url)
    for channel, kind, key, net in (
        ("wx", SettlementKind.PROVIDER, "2026-03-02", 150000),
        ("bank", SettlementKind.BANK, "f1", 50000),
    ):
        d.settle(channel, Settlement(
            kind, key, f"{kind.value} {key}", "CNY", T0 + timedelta(hours=9), net,
            dates=("2026-03-02",) if kind is SettlementKind.PROVIDER else (),
        ))  # fmt: skip
    rec = reconcile(d.journal, d.roster, statements=statements(tmp_path))
    assert rec.arrivals is not None and rec.concerns and rec.outside.obligations
    pages = [write_outputs(rec, tmp_path / "out")["html"]]
    for level in Level:
        notices = build_notices(rec, level, county="科尔沁右翼前旗")
        pages += [p for p in write_notices(notices, tmp_path / level.value, on=ON)]
    pages = [p for p in pages if p.suffix == ".html"]
    assert len(pages) == 1 + 1 + 3 + 6
    for page in pages:
        text = page.read_text("utf-8")
        for bad in TECHNICAL:
            assert bad not in text, (page.name, bad, text[max(0, text.find(bad) - 80) :][:200])
    d.journal.close()


EVIL = "<script>alert(1)</script>{{ 7*7 }}{% if 1 %}x{% endif %}"


def test_markup_and_template_syntax_in_names_render_as_text(tmp_path: Path) -> None:
    d = Day.open(tmp_path, f"sqlite:///{tmp_path}/j.db")
    d.owe(1, "300.00", name="王" + EVIL, town="镇" + EVIL, village="村" + EVIL)
    d.owe(2, "300.00", name="李" + EVIL, town="镇" + EVIL, village="村" + EVIL)
    d.pay(1, "300.00")
    d.pay(2, "300.00", status=Status.UNKNOWN, operator="柜员" + EVIL)  # in doubt: named
    rec = reconcile(d.journal, d.roster)
    [notice] = build_notices(rec, Level.VILLAGE, county="旗" + EVIL)
    for html in (html_report(rec), notice_html(notice, on=ON)):
        assert "<script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;{{ 7*7 }}{% if 1 %}x{% endif %}" in html
        shown = unescape(re.sub(r"<[^>]+>", "", html))
        assert "村" + EVIL in shown
    assert "李" + EVIL.replace("<", "&lt;").replace(">", "&gt;") in html_report(rec)


def test_the_templates_ship_inside_the_package() -> None:
    folder = resources.files("paychannels.documents") / "templates"
    names = {p.name for p in folder.iterdir()}
    assert {"page.html.j2", "report.html.j2", "notice.html.j2"} <= names
    for name in names:
        assert name.endswith(".html.j2"), name


def test_a_template_missing_a_value_fails_loudly() -> None:
    from paychannels.documents.htmldoc import render

    with pytest.raises(jinja2.UndefinedError):
        render("notice.html.j2")


def test_the_command_takes_the_threshold(
    day: Day, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from paychannels.cli.main import main

    day.journal.close()
    out = tmp_path / "o"
    code = main(["reconcile", *day.inputs(), "--out", str(out), "--call-out-below", "50"])
    assert code == 1  # hall-1 has no settlement figures: unchecked
    html = (out / "report.html").read_text("utf-8")
    assert "villages below 50% paid: 2" in html and "索伦镇 新立村</strong>" not in html
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(["reconcile", *day.inputs(), "--out", str(out), "--call-out-below", "150"])
    assert exit_.value.code == 2
    assert "--call-out-below: 150: a percentage from 0 to 100" in capsys.readouterr().err


def test_the_style_sheet_names_its_fonts_unescaped(day: Day) -> None:
    # <style> is raw text: an escaped quote (&#34;) there is no quote, and the browser drops
    # the font stacks that draw the Chinese and the Mongolian
    rec = reconcile(day.journal, day.roster)
    [notice] = build_notices(rec, Level.COUNTY, county="科尔沁右翼前旗")
    for html in (html_report(rec), notice_html(notice, on=ON)):
        [style] = re.findall(r"<style>(.*?)</style>", html, re.S)
        assert "&" not in style
        assert 'body { font-family: "Noto Sans CJK SC",' in style
        assert '.mn { font-family: "Noto Sans Mongolian",' in style
    # in an attribute (the chart's) the same names are escaped, as they must be
    assert 'style="font-family: &#34;Noto Sans CJK SC&#34;' in html_report(rec)
