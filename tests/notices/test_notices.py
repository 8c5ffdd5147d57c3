"""Public notice lists: who is on them, how they are grouped, and that nothing published ever
holds a full ID number, name or account of the roster (a hypothesis property)."""

from __future__ import annotations

import csv
import io
import tempfile
import unicodedata
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from paychannels import Money, PaymentRequest, Status
from paychannels.cli.main import main
from paychannels.documents.bilingual import TEXTS, mn
from paychannels.documents.notices import Level, Notice, build_notices, notice_html, write_notices
from paychannels.documents.notices.build import public_id
from paychannels.journal import Change, NewRecord
from paychannels.reconcile import reconcile
from paychannels.values.idnumbers import with_check_digit
from tests.reconcile.day import T0, Day, payer

ON = date(2026, 3, 3)


def _day(tmp: Path) -> Day:
    d = Day.open(tmp, f"sqlite:///{tmp}/j.db")
    d.owe(1, "300.00", name="张小三", town="索伦镇", village="新立村")
    d.owe(2, "200.00", name="王五", town="索伦镇", village="新立村")
    d.owe(3, "300.00", name="ᠪᠠᠲᠤ", town="索伦镇", village="白音嘎查")
    d.owe(4, "300.00", name="李四", town="察尔森镇", village="永兴村")
    d.pay(1, "300.00", channel="wx")
    d.pay(3, "300.00", channel="wx")
    d.pay(4, "300.00", channel="wx", status=Status.PENDING)  # not paid yet: not listed
    return d


def test_lists_per_level_name_only_those_who_paid(tmp_path: Path) -> None:
    day = _day(tmp_path)
    rec = reconcile(day.journal, day.roster)
    villages = build_notices(rec, Level.VILLAGE, county="科尔沁右翼前旗")
    assert [(n.township, n.village, len(n.lines)) for n in villages] == [
        ("察尔森镇", "永兴村", 0),
        ("索伦镇", "新立村", 1),
        ("索伦镇", "白音嘎查", 1),
    ]
    [line] = villages[1].lines
    assert (line.name, line.payer, line.amount) == (
        "张*三",
        payer(1)[:6] + "********" + payer(1)[-4:],
        "300.00",
    )
    assert villages[2].lines[0].name == "ᠪ**ᠤ"
    assert villages[1].counts == {("索伦镇", "新立村"): [2, 1]}
    [town] = build_notices(rec, Level.TOWNSHIP, township="索伦镇")
    assert len(town.lines) == 2 and town.place == "索伦镇"
    [county] = build_notices(rec, Level.COUNTY, county="科尔沁右翼前旗")
    assert (
        len(county.lines) == 2
        and len(county.counts) == 3
        and county.file_stem == "county-科尔沁右翼前旗"
    )
    html = notice_html(town, on=ON)
    assert "社会保险费缴费公示" in html and mn("notice") in html and mn("name") in html
    assert "张*三" in html and "ᠪ**ᠤ" in html and "王五" not in html and "王*" not in html
    assert "<script" not in html and "2026-03-03" in html


def test_the_command_writes_html_and_csv(tmp_path: Path, capsys: object) -> None:
    day = _day(tmp_path)
    day.journal.close()
    out = tmp_path / "lists"
    code = main(
        [
            "notice",
            "--level",
            "village",
            *day.inputs(),
            "--out",
            str(out),
            "--date",
            "2026-03-03",
        ]
    )
    assert code == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        f"village-{t}-{v}.{ext}"
        for t, v in (("察尔森镇", "永兴村"), ("索伦镇", "新立村"), ("索伦镇", "白音嘎查"))
        for ext in ("html", "csv")
    )
    rows = list(csv.reader(io.StringIO((out / "village-索伦镇-新立村.csv").read_text("utf-8-sig"))))
    assert rows[0][:2] == [f"序号/{mn('number')}", f"姓名/{mn('name')}"]
    assert rows[1][1:3] == ["张*三", payer(1)[:6] + "********" + payer(1)[-4:]]


def test_ids_of_other_schemes_keep_only_their_last_four() -> None:
    assert public_id(payer(1)) == payer(1)[:6] + "********" + payer(1)[-4:]
    assert public_id("E12345678") == "*****5678"
    assert public_id("G1234567AB") == "******67AB"
    assert public_id("AB1234") == "******"


# -- nothing published holds a full ID number, name or account --------------------------------

_LETTERS = st.characters(
    whitelist_categories=("Lu", "Ll", "Lo"),
    min_codepoint=0x41,
    max_codepoint=0x9FFF,
).filter(lambda c: unicodedata.category(c)[0] == "L" and c.isprintable())
_NAMES = st.one_of(
    st.text(
        st.sampled_from("王李张刘陈杨赵黄周吴巴特尔乌日娜其格敖斯琴包宝金白"),
        min_size=2,
        max_size=4,
    ),
    st.text(st.sampled_from("ᠠᠡᠢᠣᠤᠥᠦᠨᠪᠬᠭᠮᠯᠰᠲᠳᠴᠵᠶᠷ"), min_size=2, max_size=6),
    st.text(_LETTERS, min_size=2, max_size=6),
)
_PAYER = st.builds(
    lambda born, seq: with_check_digit(f"152221{born:%Y%m%d}{seq:03d}"),
    st.dates(date(1950, 1, 1), date(2008, 12, 31)),
    st.integers(0, 999),
)
_ACCOUNT = st.text("0123456789", min_size=16, max_size=19)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(_PAYER, _NAMES, _ACCOUNT), min_size=1, max_size=6, unique_by=lambda t: t[0])
)
@pytest.mark.slow
def test_no_published_file_holds_a_full_id_name_or_account(
    people: list[tuple[str, str, str]],
) -> None:
    for _payer, name, _account in people:
        assume(name.strip() == name and "," not in name and '"' not in name)
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        roster = tmp / "roster.csv"
        lines = [
            "证件号码,姓名,苏木乡镇,嘎查村,险种,缴费档次,应缴金额,缴费期间,缴费方式,银行账号,开户行行号,"
            "代扣协议号,协议签订日期\n"
        ]
        for i, (payer_id, name, account) in enumerate(people):
            town, village = ("索伦镇", "新立村") if i % 2 else ("察尔森镇", "巴彦嘎查")
            lines.append(
                f"{payer_id},{name},{town},{village},城乡居民基本养老保险,一档,200.00,2026,"
                f"bank,{account},105191000011,DK{i:06d},2025-03-01\n"
            )
        roster.write_text("".join(lines), "utf-8")
        day = Day.open(tmp, "sqlite:///:memory:")
        for payer_id, _name, _account in people:
            new, steps = _paid(payer_id)
            day.journal.create(new, now=T0, then=steps)
        rec = reconcile(day.journal, roster)
        published: list[Path] = []
        for level in Level:
            notices = build_notices(rec, level, county="科尔沁右翼前旗")
            assert sum(len(n.lines) for n in notices) == len(people)
            published += write_notices(notices, tmp / level.value, on=ON)
        day.journal.close()
        skeleton = (
            _skeleton()
            + "城乡居民基本养老保险一档200.002026索伦镇新立村察尔森镇巴彦嘎查科尔沁右翼前旗"
        )
        for path in published:
            text = path.read_text("utf-8-sig")
            for payer_id, name, account in people:
                assert payer_id not in text, path.name
                assert account not in text, path.name
                letters = [c for c in name if unicodedata.category(c)[0] in "LN"]
                if len(letters) >= 2 and name not in skeleton:
                    assert name not in text, (path.name, name)


def _paid(payer_id: str) -> tuple[NewRecord, list[Change]]:
    req = PaymentRequest(
        payer_id=payer_id,
        amount=Money("200.00", "CNY"),
        reference="2026:城乡居民基本养老保险",
        idempotency_key=f"k{payer_id}",
    )
    new = NewRecord(f"pay_{payer_id}", "payment", "bank", req, payer_id)
    return new, [Change(to_status=Status.DISPATCHED), Change(to_status=Status.SUCCEEDED)]


_SKELETON: list[str] = []


def _skeleton() -> str:
    """Everything a list prints besides its lines (titles, headers, styles)."""
    if not _SKELETON:
        empty = Notice(Level.COUNTY, "科尔沁右翼前旗", counts={("索伦镇", "新立村"): [1, 1]})
        _SKELETON.append(notice_html(empty, on=ON) + "".join(z + m for z, m in TEXTS.values()))
    return _SKELETON[0]
