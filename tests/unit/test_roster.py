"""The roster format (docs/roster.md): encodings, Chinese headers, every problem collected."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paychannels import Money
from paychannels.documents.roster import (
    RosterEntry,
    RosterError,
    RosterOptions,
    RosterProblem,
    iter_roster,
    load_roster,
)
from paychannels.values.idnumbers import WEIGHTS, check_digit, check_resident_id, with_check_digit

GOOD = with_check_digit("15042219800101123")
HEAD = (
    "payer_id,name,township,village,insurance_type,grade,amount,period,channels,account,"
    "bank_code,mandate_id,mandate_date\n"
)


def test_check_digit_matches_the_published_example() -> None:
    # GB 11643-1999's worked example: 11010519491231002X
    assert check_digit("11010519491231002") == "X"
    assert check_resident_id("11010519491231002X") is None
    assert "check digit" in (check_resident_id("110105194912310021") or "")
    assert "birth date" in (check_resident_id(with_check_digit("11010519491332002")) or "")
    assert "region" in (check_resident_id(with_check_digit("99010519491231002")) or "")
    assert "18" in (check_resident_id("1234") or "")


@given(st.text("0123456789", min_size=17, max_size=17))
@pytest.mark.slow
def test_check_digit_is_the_weighted_sum_of_gb_11643(body: str) -> None:
    total = sum(int(c) * w for c, w in zip(body, WEIGHTS, strict=True))
    assert check_digit(body) == "10X98765432"[total % 11]


@given(st.text(min_size=18, max_size=18))
def test_any_eighteen_characters_get_an_answer_not_an_exception(value: str) -> None:
    assert check_resident_id(value) is None or isinstance(check_resident_id(value), str)


@given(st.text("0123456789", min_size=17, max_size=17))
def test_any_single_digit_typo_is_caught(body: str) -> None:
    number = with_check_digit(body)
    for i in range(17):
        typo = number[:i] + str((int(number[i]) + 1) % 10) + number[i + 1 :]
        assert check_digit(typo[:17]) != typo[17]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_reads_utf8_and_gbk_with_chinese_headers(tmp_path: Path, encoding: str) -> None:
    text = (
        "证件号码,姓名,苏木乡镇,嘎查村,险种,缴费档次,应缴金额,缴费期间,缴费方式\n"
        f"{GOOD},张三,察尔森镇,第一嘎查,城乡居民养老保险,三档,380.00,2026,hall;wechat\n"
    )
    path = tmp_path / "r.csv"
    path.write_bytes(text.encode(encoding))
    [entry] = load_roster(path)
    assert isinstance(entry, RosterEntry)
    assert (entry.name, entry.amount, entry.channels, entry.township) == (
        "张三",
        Money("380.00", "CNY"),
        ("hall", "wechat"),
        "察尔森镇",
    )
    req = entry.request("wechat")
    assert req.reference == "2026:城乡居民养老保险" and req.idempotency_key.isascii()
    assert req.region == "察尔森镇/第一嘎查" and req.metadata["grade"] == "三档"


def test_every_problem_is_collected_with_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        HEAD
        + f"{GOOD},张三,,,,,380.00,2026,bank,6217000010000000001,105191000011,DK1,2025-03-01\n"
        + "110105194912310021,李四,,,,,380.00,2026,,,,,\n"
        + f"{GOOD},张三,,,,,380.00,2026,,,,,\n"
        + f"{with_check_digit('15042219800101124')},,,,,,abc,2026,bank,6217 0000,123,,2099-01-01\n"
        + f"{with_check_digit('15042219800101125')},王五,,,,,0.001,,,,,\n",
        "utf-8",
    )
    with pytest.raises(RosterError) as info:
        load_roster(path)
    found = {(p.line, p.column) for p in info.value.problems}
    assert (3, "payer_id") in found  # bad check digit
    assert (4, "payer_id") in found  # same payer and period as line 2
    assert {
        (5, "name"),
        (5, "amount"),
        (5, "account"),
        (5, "bank_code"),
        (5, "mandate_id"),
        (5, "mandate_date"),
    } <= found
    assert (6, "-") in found  # wrong number of cells
    assert "bad.csv line 3, column payer_id: check digit" in str(info.value)


def test_missing_columns_and_encodings(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("name,amount\n张三,1.00\n", "utf-8")
    problems = [p for p in iter_roster(path) if isinstance(p, RosterProblem)]
    assert {p.column for p in problems} == {"payer_id", "period"}
    path.write_bytes(b"payer_id,name,amount,period\n\xff\xfe\x80\n")
    with pytest.raises(RosterError, match="line 2"):
        load_roster(path)


def test_other_id_schemes_by_configuration(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "payer_id,id_scheme,name,amount,period\nE12345678,passport,John Smith,380.00,2026\n",
        "utf-8",
    )
    with pytest.raises(RosterError, match="not allowed"):
        load_roster(path)
    [entry] = load_roster(
        path,
        options=RosterOptions(
            id_schemes=frozenset({"cn_resident", "passport"}), today=date(2026, 1, 1)
        ),
    )
    assert entry.id_scheme == "passport"


def test_the_example_in_the_docs_loads(tmp_path: Path) -> None:
    import re

    doc = (Path(__file__).resolve().parents[2] / "docs" / "roster.md").read_text("utf-8")
    block = re.search(r"```csv\n(.*?)```", doc, re.S)
    assert block is not None
    path = tmp_path / "example.csv"
    path.write_text(block.group(1), "utf-8")
    assert [e.name for e in load_roster(path)] == ["张三", "ᠪᠠᠲᠤ"]


def test_padded_cells_long_cells_and_control_characters(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "payer_id,name,township,amount,period,phone,note\n"
        f" {GOOD} , 张三 ,察尔森镇\u3000, 380.00 ,2026,,  keep me \n"
        f"{with_check_digit('15042219800101124')},李四,{'镇' * 101},380.00,2026,,\n"
        f"{with_check_digit('15042219800101125')},王\x07五,,380.00,2026,{'1' * 21},\n",
        "utf-8",
    )
    items = list(iter_roster(path))
    entry = items[0]
    assert isinstance(entry, RosterEntry)
    assert (entry.payer_id, entry.name, entry.township, entry.amount) == (
        GOOD,
        "张三",
        "察尔森镇",
        Money("380.00", "CNY"),
    )
    assert dict(entry.extra) == {"note": "keep me"}
    found = {(p.line, p.column, p.message.split(" ")[0]) for p in items[1:]}
    assert found == {(3, "township", "has"), (4, "name", "contains"), (4, "phone", "has")}


_PLAUSIBLE = st.builds(
    lambda region, rest, born, seq: f"{region:02d}{rest:04d}{born:%Y%m%d}{seq:03d}",
    st.sampled_from([11, 15, 44, 65, 99, 10]),
    st.integers(0, 9999),
    st.dates(date(1890, 1, 1), date(2027, 12, 31)),
    st.integers(0, 999),
)


@given(
    st.one_of(_PLAUSIBLE, st.text("0123456789", min_size=17, max_size=17)),
    st.sampled_from("0123456789X"),
)
@pytest.mark.slow
def test_the_roster_checks_ids_as_check_resident_id_does(body: str, last: str) -> None:
    import tempfile

    number = body + (check_digit(body) if last == "0" else last)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "r.csv"
        path.write_text(f"payer_id,name,amount,period\n{number},张三,1.00,2026\n", "utf-8")
        today = date(2026, 1, 1)
        [item] = list(iter_roster(path, options=RosterOptions(today=today)))
    expected = check_resident_id(number, today=today)
    if expected is None:
        assert isinstance(item, RosterEntry)
    else:
        assert isinstance(item, RosterProblem) and item.message == expected
