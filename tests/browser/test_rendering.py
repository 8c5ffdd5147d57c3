"""The reconciliation report and a public notice, opened in a real browser.

Headless Chromium (Debian's ``chromium``) loads each page: the tables, the chart and the
bilingual headings must be in the DOM it built; a copy of the page with ``probe.js``
appended measures the layout (tables and the chart drawn with a size, Mongolian headings
vertical) and proves the Chinese and Mongolian headings are drawn with real glyphs, not
the boxes of missing ones. Screenshots are kept under the test's temporary folder (the CI
artefact) and decoded: not blank, the chart's colours present, the vertical Mongolian
titles inked down the left side. With ``PAYCHANNELS_SHOTS=docs/images`` the checked
screenshots are also copied there (``report.png``, ``notice.png``: the docs' pictures).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from html import unescape
from pathlib import Path
from typing import Any

import pytest

from paychannels import Status
from paychannels.channels.settlement import Settlement, SettlementKind
from paychannels.documents.bilingual import mn, zh
from paychannels.documents.notices import Level, build_notices, write_notices
from paychannels.reconcile import reconcile
from paychannels.reconcile.chart import SEGMENTS
from paychannels.reconcile.report import write_outputs
from tests.browser.chromium import Chromium, browser, font_families
from tests.browser.pngread import read_png
from tests.reconcile.day import T0, Day

# headless Chromium renders each page; under pytest -n one worker runs the module so the
# browser and the pages are made once
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

PROBE = (Path(__file__).parent / "probe.js").read_text("utf-8")
TOWNS = ("索伦镇", "察尔森镇", "科尔沁镇")
REPORT_TABLES = {"summary", "townships", "periods", "settlements", "operators", "channels"}


@dataclass
class Pages:
    """The pages under test, and where their screenshots go."""

    report: Path
    notice: Path
    shots: Path


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Chromium:
    return browser(tmp_path_factory.mktemp("chromium-profile"))


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Pages:
    folder = tmp_path_factory.mktemp("pages")
    day = Day.open(folder, f"sqlite:///{folder}/j.db")
    names = (
        "王小明",
        "ᠪᠠᠲᠤ",
        "李秀英",
        "巴特尔",
        "ᠰᠠᠷᠠᠩᠭᠡᠷᠡᠯ",
        "张桂兰",
        "敖日格勒",
        "陈静",
        "刘洋",
    )
    receipt = 0
    for n, name in enumerate(names, start=1):
        day.owe(
            n, "300.00", name=name, town=TOWNS[n % 3], village="新立村" if n % 2 else "巴彦嘎查"
        )
        if n <= 6:
            receipt += 1
            day.pay(n, "300.00", ref=f"29001234/{receipt:04d}/{receipt:06d}", operator="柜员-王丽")
    day.pay(7, "300.00", status=Status.UNKNOWN)  # in doubt: listed for attention
    day.owe(12, "300.00", name="赵丽", town="索伦镇", village="巴彦嘎查")  # 索伦镇: 2 of 4 paid
    day.settle("hall-1", Settlement(
        SettlementKind.TERMINAL, "eod", "ZVT end of day", "CNY", T0 + timedelta(hours=8),
        180000, 6, None, None, None, receipts=(1, receipt),
    ))  # fmt: skip
    rec = reconcile(day.journal, day.roster)
    day.journal.close()
    report = write_outputs(rec, folder / "reconciliation")["html"]
    notices = build_notices(rec, Level.TOWNSHIP, county="科尔沁右翼前旗", township="索伦镇")
    [notice, _csv] = write_notices(notices, folder / "notices", on=date(2026, 3, 3))
    return Pages(report, notice, tmp_path_factory.mktemp("screenshots"))


def _probe(chromium: Chromium, page: Path) -> dict[str, Any]:
    """Load a copy of ``page`` with the probe appended; its measurements."""
    probed = page.with_name(f"probed-{page.name}")
    probed.write_text(
        page.read_text("utf-8").replace("</body>", f"<script>{PROBE}</script></body>"), "utf-8"
    )
    found = re.search(r'<pre id="probe">(.*?)</pre>', chromium.dom(probed), re.S)
    assert found, "the probe did not run"
    result: dict[str, Any] = json.loads(unescape(found.group(1)))
    return result


def _check_fonts(probe: dict[str, Any]) -> None:
    """The page's own font stacks were taken (the browser drops a malformed declaration)."""
    assert probe["fonts"]["body"].startswith('"Noto Sans CJK SC"'), probe["fonts"]
    assert probe["fonts"]["mn"].startswith('"Noto Sans Mongolian"'), probe["fonts"]


def _check_glyphs(heading: dict[str, Any]) -> None:
    """Real glyphs: every letter inked, none shaped like a missing glyph's box, and many
    shapes (Mongolian draws a few letter pairs alike, o/u and ö/ü)."""
    what = f"{heading['lang']} {heading['text']!r}"
    assert heading["letters"] >= 1, what
    assert heading["inked"] == heading["letters"], what
    assert heading["like_missing"] == 0, what
    assert heading["shapes"] >= max(1, (heading["letters"] + 1) // 2), what
    assert heading["width"] > 0 and heading["height"] > 0, what


def test_fonts_for_mongolian_and_chinese_are_installed() -> None:
    # fontconfig's "mn-cn" is Mongolian in the traditional script ("mn" alone is Cyrillic)
    assert "Noto Sans Mongolian" in font_families("mn-cn")
    assert any("CJK SC" in family for family in font_families("zh-cn"))


def test_the_report_has_its_tables_chart_and_headings_in_the_dom(
    chromium: Chromium, pages: Pages
) -> None:
    dom = chromium.dom(pages.report)
    for cls in REPORT_TABLES | {"attention"}:
        assert f'<table class="{cls}">' in dom, cls
    assert re.search(r'<svg[^>]*class="chart"', dom) and dom.count("<rect") >= 3 + len(SEGMENTS)
    assert f'<h1 lang="zh-Hans">{zh("reconciliation")}</h1>' in dom
    for key in ("reconciliation", "summary", "progress", "settlements", "operators"):
        assert f'lang="mn-Mong">{mn(key)}</div>' in dom, key
    assert all(town in dom for town in TOWNS)


def test_the_report_renders_tables_chart_and_real_glyphs(chromium: Chromium, pages: Pages) -> None:
    probe = _probe(chromium, pages.report)
    _check_fonts(probe)
    drawn = {t["cls"]: t for t in probe["tables"]}
    assert REPORT_TABLES | {"attention"} <= set(drawn)
    for cls, t in drawn.items():
        assert t["rows"] >= 2 and t["width"] > 100 and t["height"] > 20, cls
    chart = probe["chart"]
    assert chart["width"] > 400 and chart["height"] > 100
    assert chart["labels"] == ["索伦镇", "察尔森镇", "科尔沁镇"]  # lowest paid rate first
    assert chart["label_width"] > 20
    assert chart["bars"] >= len(SEGMENTS) + len(TOWNS)  # the legend's squares and the bars
    _check_glyphs({"lang": "zh-Hans", "text": "chart labels", "width": 1, "height": 1}
                  | chart["label_glyphs"])  # fmt: skip
    headings = probe["headings"]
    mongolian = [h for h in headings if h["lang"] == "mn-Mong"]
    chinese = [h for h in headings if h["lang"] == "zh-Hans"]
    assert len(mongolian) >= 7 and len(chinese) >= 7
    for h in headings:
        _check_glyphs(h)
    for h in mongolian:  # written down the page, as the script is
        assert h["writing"] == "vertical-lr" and h["height"] > h["width"], h["text"]


def test_the_villages_behind_are_named_above_the_chart(chromium: Chromium, pages: Pages) -> None:
    callout = _probe(chromium, pages.report)["callout"]
    assert callout["width"] > 300 and callout["height"] > 40
    assert callout["top"] < callout["chart_top"]  # read before the chart
    # half paid in each: the in-doubt payer's village and two with an unpaid payer
    named = [" ".join(i["text"].split()[:2]) for i in callout["items"]]
    assert named == ["察尔森镇 新立村", "科尔沁镇 巴彦嘎查", "索伦镇 巴彦嘎查", "索伦镇 新立村"]
    assert all(i["height"] > 10 and i["width"] > 100 for i in callout["items"])


def test_the_notice_renders_its_list_and_real_glyphs(chromium: Chromium, pages: Pages) -> None:
    dom = chromium.dom(pages.notice)
    assert '<table class="notice">' in dom and '<table class="counts">' in dom
    assert zh("notice") in dom and mn("notice") in dom and "李*英" in dom
    probe = _probe(chromium, pages.notice)
    _check_fonts(probe)
    notice = next(t for t in probe["tables"] if t["cls"] == "notice")
    assert notice["rows"] >= 2 and notice["height"] > 40
    titles = [h for h in probe["headings"] if h["text"] in (mn("notice"), zh("notice"))]
    assert len(titles) == 2
    for h in probe["headings"]:
        _check_glyphs(h)


def test_the_method_tells_missing_glyphs_from_real_ones(chromium: Chromium, pages: Pages) -> None:
    # a heading of code points no font has must fail the glyph check: the check can fail
    page = pages.report.with_name("missing.html")
    page.write_text(
        pages.report.read_text("utf-8").replace(mn("summary"), "\u0378\u0379\u0380\u0381"),
        "utf-8",
    )
    probe = _probe(chromium, page)
    [boxes] = [h for h in probe["headings"] if h["text"] == "\u0378\u0379\u0380\u0381"]
    assert boxes["like_missing"] == boxes["letters"] == 4
    with pytest.raises(AssertionError):
        _check_glyphs(boxes)


@pytest.mark.parametrize("which", ["report", "notice"])
def test_screenshots_are_not_blank(chromium: Chromium, pages: Pages, which: str) -> None:
    page = pages.report if which == "report" else pages.notice
    png = chromium.screenshot(page, pages.shots / f"{which}.png", size=(1280, 1600))
    image = read_png(png)
    assert (image.width, image.height) == (1280, 1600)
    total = image.width * image.height
    assert image.ink() > total // 50, f"{png} is (nearly) blank"
    # the vertical Mongolian titles, inked down the left margin
    strip = sum(
        1
        for y in range(0, image.height, 2)
        for x in range(8, 40, 2)
        if min(image.pixel(x, y)[:3]) < 128
    )
    assert strip > 100, f"{png}: nothing drawn where the Mongolian titles stand"
    if which == "report":  # the chart's paid and unpaid bars
        for label, colour, _categories in SEGMENTS:
            if "paid" in label and "partly" not in label and "unpaid" not in label:
                rgb = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
                assert image.count_colour((rgb[0], rgb[1], rgb[2])) > 2000, label
    keep = os.environ.get("PAYCHANNELS_SHOTS")
    if keep:  # the docs' pictures: exactly the screenshots checked here
        shutil.copyfile(png, Path(keep) / png.name)
