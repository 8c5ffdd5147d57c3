"""Request-file writers: valid against the official XSDs, re-read by our readers, totals exact."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paychannels.bankfiles import cnbatch, pain008
from paychannels.bankfiles.errors import BankFileError
from paychannels.bankfiles.layout import load_layout
from paychannels.bankfiles.model import Creditor, Debit
from paychannels.bankfiles.pain008_read import RequestDebit, read_pain008
from paychannels.bankfiles.split import Limits, plan_files
from paychannels.bankfiles.validate import check_totals, validate_xsd
from tests.bank.xsd import PACKAGED, assert_valid, official_dir

CREDITOR = Creditor(
    name="科尔沁右翼前旗社保局",
    account="15050171001234567890",
    bank="105191000011",
    scheme_id="CN12ZZZ150422",
    initiator_id="150422-SB",
)
DAY = date(2026, 3, 3)
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NAMES = ["张三", "李𠀀四", "ᠪᠠᠲᠤ ᠴᠢᠯᠠᠭᠤ", "O'Brien & Söhne <GmbH>", "欧阳" * 30]


def debit(i: int, **kw: object) -> Debit:
    values: dict[str, object] = dict(
        end_to_end_id=f"01JD3M8Q2W5X7Y9Z0ABC{i:06d}-1",
        amount_minor=38_000 + i,
        currency="CNY",
        name=NAMES[i % len(NAMES)],
        account=f"62170000{i:011d}",
        bank="105191000011",
        mandate_id=f"DK{i:010d}",
        mandate_date=date(2025, 3, 1),
        collection_date=DAY,
        remittance="城乡居民养老保险 2026",
        payer_id="150422197001011234",
    )
    values.update(kw)
    return Debit(**values)  # type: ignore[arg-type]


def write(
    tmp: Path, fmt: str, debits: list[Debit], limits: Limits | None = None, name: str = "f.xml"
) -> tuple[list[Path], list[tuple[int, int]]]:
    limits = limits or Limits()
    files = plan_files([(DAY, "RCUR", (d.amount_minor for d in debits))], limits)
    paths, totals = [], []
    it = iter(debits)
    for n, batches in enumerate(files, start=1):
        path = tmp / f"{n}-{name}"
        count = sum(b.count for b in batches)
        chunk = [next(it) for _ in range(count)]
        got, sha = pain008.write_file(
            path,
            format=fmt,
            creditor=CREDITOR,
            msg_id=f"KYQ2026030200000{n}",
            created_at=AT,
            batches=batches,
            debits=chunk,
        )
        assert sha == hashlib.sha256(path.read_bytes()).hexdigest()
        paths.append(path)
        totals.append((got.count, got.sum_minor))
    return paths, totals


def test_packaged_schemas_are_the_official_ones() -> None:
    official = official_dir()
    if official is None:
        pytest.skip("shared/iso20022 is not beside this checkout")
    for xsd in PACKAGED.glob("*.xsd"):
        if xsd.name.startswith("camt.053."):
            continue  # not in shared/iso20022: pinned by hash in tests/statement/test_readers
        assert xsd.read_bytes() == (official / xsd.name).read_bytes(), xsd.name


@pytest.mark.parametrize("fmt", ["pain.008.001.02", "pain.008.001.08"])
@pytest.mark.parametrize("size", [1, 37, 5000])
@pytest.mark.slow
def test_pain008_is_valid_and_reads_back(tmp_path: Path, fmt: str, size: int) -> None:
    debits = [debit(i) for i in range(size)]
    (path,), [(count, total)] = write(tmp_path, fmt, debits, Limits(rows_per_batch=2000))
    assert_valid(path, fmt)
    assert validate_xsd(path) == fmt
    assert (count, total) == (size, sum(d.amount_minor for d in debits))
    recount = check_totals(path)
    assert (recount.count, recount.sum_minor) == (count, total)
    read = [d for d in read_pain008(path) if isinstance(d, RequestDebit)]
    assert [(r.ref, r.amount_minor, r.name, r.account) for r in read] == [
        (d.end_to_end_id, d.amount_minor, d.name, d.account) for d in debits
    ]
    assert {r.collection_date for r in read} == {DAY}


@pytest.mark.slow
def test_splitting_by_the_banks_limits(tmp_path: Path) -> None:
    debits = [debit(i) for i in range(2500)]
    paths, totals = write(
        tmp_path,
        "pain.008.001.08",
        debits,
        Limits(rows_per_file=1000, batches_per_file=3, rows_per_batch=400),
    )
    assert [c for c, _ in totals] == [1000, 1000, 500]  # files filled first
    assert sum(s for _, s in totals) == sum(d.amount_minor for d in debits)
    for path in paths:
        assert_valid(path, "pain.008.001.08")
        assert all(count <= 400 for _bid, count, _sum in check_totals(path).batches)
        assert len(check_totals(path).batches) <= 3


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "张" * 141}, "debtor name has 141 characters"),
        ({"name": "bad\x07bell"}, r"U\+0007"),
        ({"amount_minor": 0}, "greater than zero"),
        ({"account": "DE89370400440532013001"}, "IBAN check digits"),
        ({"account": "6217 0000"}, "letters and digits only"),
        ({"end_to_end_id": "X" * 36}, "EndToEndId has 36"),
        ({"mandate_id": ""}, "MndtId is empty"),
        ({"currency": "EUR"}, "debit in EUR"),
    ],
)
def test_every_value_is_checked_as_written(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    debits = [debit(0), debit(1, **change)]
    with pytest.raises(BankFileError, match=message) as info:
        write(tmp_path, "pain.008.001.08", debits)
    assert "debit 2" in str(info.value) and info.value.file == "1-f.xml"


def test_a_float_amount_is_a_type_error(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="integer minor units"):
        write(tmp_path, "pain.008.001.08", [debit(0, amount_minor=380.0)])


def test_planned_totals_must_match_what_is_written(tmp_path: Path) -> None:
    files = plan_files([(DAY, "RCUR", [100, 200])], Limits())
    with pytest.raises(BankFileError, match="planned 2 debits / 300"):
        pain008.write_file(
            tmp_path / "x.xml",
            format="pain.008.001.08",
            creditor=CREDITOR,
            msg_id="M1",
            created_at=AT,
            batches=files[0],
            debits=[debit(0, amount_minor=100), debit(1, amount_minor=201)],
        )


def test_sepa_profile_refuses_what_the_rulebook_refuses(tmp_path: Path) -> None:
    out = io.BytesIO()
    writer = pain008.Pain008Writer(
        out, name="s.xml", format="pain.008.001.08", creditor=CREDITOR, profile="sepa"
    )
    files = plan_files([(DAY, "RCUR", [100])], Limits())
    with pytest.raises(BankFileError, match="SEPA profile collects EUR"):
        writer.write(
            msg_id="M1", created_at=AT, batches=files[0], debits=[debit(0, amount_minor=100)]
        )


@pytest.mark.parametrize("layout_name", ["icbc-fixed", "ccb-pipe"])
def test_text_layouts_write_and_read_back(tmp_path: Path, layout_name: str) -> None:
    layout = load_layout(layout_name)
    debits = [debit(i, name=n) for i, n in enumerate(["张三", "李𠀀四", "ᠪᠠᠲᠤ", "欧阳娜娜"])]
    files = plan_files(
        [(DAY, "RCUR", (d.amount_minor for d in debits))],
        Limits(rows_per_file=layout.rows_per_file),
    )
    path = tmp_path / layout.file_name.format(msg_id="KYQ20260302000009")
    totals, _sha = cnbatch.write_request(
        path,
        layout,
        creditor=CREDITOR,
        msg_id="KYQ20260302000009",
        created_at=AT,
        batch=files[0][0],
        debits=debits,
    )
    raw = path.read_bytes()
    assert raw.decode("gb18030")
    if layout.kind == "fixed":
        widths = {len(line) for line in raw.split(b"\r\n")[:-2]}
        assert widths == {sum(f.width for f in layout.request.detail)}, "widths are in bytes"
    rows = [v for kind, _line, v in cnbatch.read_request(path, layout) if kind == "detail"]
    assert [(r["serial"], r["name"], r["amount"]) for r in rows] == [
        (d.end_to_end_id, d.name, d.amount_minor) for d in debits
    ]
    assert totals.count == 4


def test_a_name_too_wide_for_its_bytes_is_refused_not_cut(tmp_path: Path) -> None:
    layout = load_layout("icbc-fixed")
    files = plan_files([(DAY, "RCUR", [100])], Limits())
    with pytest.raises(BankFileError, match=r"line 1 \(姓名\).*44 bytes, the field holds 40"):
        cnbatch.write_request(
            tmp_path / "PKX.dat",
            layout,
            creditor=CREDITOR,
            msg_id="X",
            created_at=AT,
            batch=files[0][0],
            debits=[debit(0, amount_minor=100, name="张" * 22)],
        )


name_chars = st.sampled_from(
    [
        *"张王李赵刘陈杨黄周吴徐孙朱马胡郭林何高梁郑罗宋谢唐韩曹许邓萧冯",
        "𠀀",
        "𪚥",
        "ᠪ",
        "ᠠ",
        "ᠲ",
        "ᠤ",
        " ",
        "·",
        "a",
        "Z",
    ]
)
names = st.text(name_chars, min_size=1, max_size=70).filter(lambda s: s.strip() == s != "")
amounts = st.integers(min_value=1, max_value=10**12)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(names, amounts, st.text("0123456789", min_size=4, max_size=34)),
        min_size=1,
        max_size=40,
    )
)
@pytest.mark.slow
def test_any_roster_writes_a_valid_file_whose_totals_match(
    tmp_path: Path, rows: list[tuple[str, int, str]]
) -> None:
    debits = [
        debit(i, name=n, amount_minor=a, account=acct, mandate_id="M" * 35, remittance="备" * 140)
        for i, (n, a, acct) in enumerate(rows)
    ]
    (path,), [(count, total)] = write(tmp_path, "pain.008.001.08", debits, name=f"h{len(rows)}.xml")
    assert_valid(path, "pain.008.001.08")
    assert (count, total) == (len(rows), sum(a for _n, a, _acct in rows))
    recount = check_totals(path)
    assert (recount.count, recount.sum_minor) == (count, total)
    read = [d for d in read_pain008(path) if isinstance(d, RequestDebit)]
    assert [r.name for r in read] == [d.name for d in debits]


def test_a_layout_with_a_header_yuan_amounts_and_gbk(tmp_path: Path) -> None:
    """A bank not shipped is one more TOML file: a header line, amounts in yuan, GBK."""
    toml = tmp_path / "abc-bank.toml"
    toml.write_text(
        """
name = "abc-bank"
kind = "delimited"
delimiter = ","
encoding = "gbk"
line_ending = "lf"
amount_unit = "yuan"
file_name = "ABC{msg_id}.csv"
result_name = "ABC{msg_id}.res"
[request]
header = [
  { name = "批次号", source = "msg_id" }, { name = "总笔数", source = "count" },
  { name = "总金额", source = "total" }, { name = "扣款日期", source = "date" },
]
detail = [
  { name = "流水号", source = "serial" }, { name = "账号", source = "account" },
  { name = "户名", source = "name", width = 20 }, { name = "金额", source = "amount" },
]
[result]
header = [{ name = "批次号", source = "msg_id" }, { name = "总笔数", source = "count" }]
detail = [
  { name = "流水号", source = "serial" }, { name = "金额", source = "amount" },
  { name = "实扣", source = "taken", required = false }, { name = "结果", source = "flag" },
  { name = "说明", source = "message", required = false },
]
[result.flags]
"00" = "succeeded"
"01" = "failed"
""",
        "utf-8",
    )
    layout = load_layout(toml)
    files = plan_files([(DAY, "RCUR", [38_000, 12_345])], Limits())
    path = tmp_path / "ABCKYQ1.csv"
    cnbatch.write_request(
        path,
        layout,
        creditor=CREDITOR,
        msg_id="KYQ1",
        created_at=AT,
        batch=files[0][0],
        debits=[
            debit(0, amount_minor=38_000, name="张三"),
            debit(1, amount_minor=12_345, name="李四"),
        ],
    )
    lines = path.read_bytes().decode("gbk").splitlines()
    assert lines[0] == "KYQ1,2,503.45,20260303"
    assert lines[2].endswith(",123.45")
    with pytest.raises(BankFileError, match=r"line 2 \(户名\).*cannot be written in gbk"):
        cnbatch.write_request(
            tmp_path / "ABCKYQ2.csv",
            layout,
            creditor=CREDITOR,
            msg_id="KYQ2",
            created_at=AT,
            batch=plan_files([(DAY, "RCUR", [1])], Limits())[0][0],
            debits=[debit(0, amount_minor=1, name="李𠀀四")],
        )
    result = tmp_path / "ABCKYQ1.res"
    result.write_bytes(
        f"KYQ1,2\n{debit(0).end_to_end_id},380.00,380.00,00,\n{debit(1).end_to_end_id},123.45,,01,余额不足\n".encode(
            "gbk"
        )
    )
    items = [i for i in cnbatch.read_result(result, layout) if hasattr(i, "ref")]
    assert [(i.outcome, i.taken_minor, i.requested_minor) for i in items] == [  # type: ignore[attr-defined]
        ("succeeded", 38_000, 38_000),
        ("failed", None, 12_345),
    ]


@given(st.from_regex(r"[A-Z]{2}[0-9]{2}[0-9A-Za-z]{1,30}", fullmatch=True) | st.text(max_size=40))
@pytest.mark.slow
def test_iban_fast_path_agrees_with_the_schema_pattern_and_mod97(value: str) -> None:
    """The all-digit shortcut in iban_valid gives the same answer as pattern + ISO 13616."""
    import re

    from paychannels.bankfiles.checks import iban_valid

    pattern = re.fullmatch(r"[A-Z]{2}[0-9]{2}[a-zA-Z0-9]{1,30}", value) is not None
    table = {chr(c): str(c - 55) for c in range(ord("A"), ord("Z") + 1)}
    expected = (
        pattern
        and int("".join(table.get(ch, ch) for ch in (value[4:] + value[:4]).upper())) % 97 == 1
    )
    assert iban_valid(value) == expected


@st.composite
def valid_ibans(draw: st.DrawFn) -> str:
    country = draw(st.from_regex(r"[A-Z]{2}", fullmatch=True))
    bban = draw(st.from_regex(r"[0-9A-Z]{1,30}", fullmatch=True))
    table = {chr(c): str(c - 55) for c in range(ord("A"), ord("Z") + 1)}
    number = int("".join(table.get(ch, ch) for ch in bban + country + "00"))
    return f"{country}{98 - number % 97:02d}{bban}"


@given(valid_ibans())
@pytest.mark.slow
def test_iban_fast_path_accepts_every_valid_iban(value: str) -> None:
    from paychannels.bankfiles.checks import check_iban, iban_valid

    assert iban_valid(value)
    assert check_iban(value, field="x") == value
