"""The pain.008 writer's chunked path: the same bytes as debit by debit, valid against the
official XSD, every debit read back field by field by an independent parser (the standard
library's ElementTree, not our lxml readers), and a bad value still named by its debit."""

from __future__ import annotations

import hashlib
import io
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paychannels.bankfiles import pain008
from paychannels.bankfiles.errors import BankFileError
from paychannels.bankfiles.model import BatchSpan, Creditor, Debit
from paychannels.bankfiles.split import Limits, plan_files
from paychannels.bankfiles.xmlread import amount_minor, plain_minor
from tests.bank.xsd import assert_valid

CREDITOR = Creditor(
    name="科尔沁右翼前旗社保局 & <Co>",
    account="15050171001234567890",
    bank="105191000011",
    scheme_id="CN12ZZZ150422",
    initiator_id="150422-SB",
)
DAY = date(2026, 3, 3)
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NAMES = [
    "张三",
    "李𠀀四",
    "ᠪᠠᠲᠤ ᠴᠢᠯᠠᠭᠤ",
    "O'Brien & Söhne <GmbH>",
    'Say "hi" > all',
    "欧阳" * 70,
    "Zhang San",
]
BANKS = ["105191000011", "ICBKCNBJNMA", None, "102191000010"]
REMITS = ["城乡居民养老保险 2026", None, "R&D <fee>"]


def iban(i: int) -> str:
    bban = f"37040044{i:010d}"
    check = 98 - int(bban + "131400") % 97
    return f"DE{check:02d}{bban}"


def debit(i: int, **kw: object) -> Debit:
    """Every field varies with ``i``; most debits are plain, some need escaping."""
    values: dict[str, object] = dict(
        end_to_end_id=f"E2E-{i:08d}" + ("&1" if i % 97 == 5 else ""),
        amount_minor=1 + i * 7919 % 10_000_000,
        currency="CNY",
        name=NAMES[i % len(NAMES)] if i % 3 == 0 else f"Wang Wu {i}",
        account=iban(i) if 2500 <= i < 4548 else f"6217{i:015d}",
        bank=BANKS[i % len(BANKS)],
        mandate_id=f"DK<{i:06d}>" if i % 101 == 7 else f"DK{i:010d}",
        mandate_date=None if i % 11 == 3 else date(2020, 1, 1 + i % 28),
        collection_date=DAY,
        remittance=REMITS[i % len(REMITS)],
        retry_of=f"E2E-{i:08d}-0" if i == 5500 else None,
    )
    values.update(kw)
    return Debit(**values)  # type: ignore[arg-type]


def write(path: Path, fmt: str, debits: list[Debit], limits: Limits | None = None) -> str:
    (batches,) = plan_files([(DAY, "RCUR", (d.amount_minor for d in debits))], limits or Limits())
    _totals, sha = pain008.write_file(
        path,
        format=fmt,
        creditor=CREDITOR,
        msg_id="KYQ20260302001",
        created_at=AT,
        batches=batches,
        debits=debits,
    )
    return sha


# SHA-256 of the files written by the debit-by-debit writer before the chunked path existed:
# the speed work must not change a byte (archives, ingest and the banks compare files).
GOLDEN = {
    "pain.008.001.02": "e918ac60429037fee42e20094f4fa023128c06a7e4f94f49b8ea0b6402dc3eb1",
    "pain.008.001.08": "17bbfc42722b5b9c14dfeaaee63d413e37c3bdb9df83665dbd48d5a44b487d5d",
}
SIZE = 6000
LIMITS = Limits(rows_per_batch=2500)  # chunks of 2,048 meet batch ends and both account kinds
NS = {
    "pain.008.001.02": "{urn:iso:std:iso:20022:tech:xsd:pain.008.001.02}",
    "pain.008.001.08": "{urn:iso:std:iso:20022:tech:xsd:pain.008.001.08}",
}


@pytest.mark.parametrize("fmt", ["pain.008.001.02", "pain.008.001.08"])
def test_the_written_bytes_did_not_change(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "f.xml"
    sha = write(path, fmt, [debit(i) for i in range(SIZE)], LIMITS)
    assert sha == hashlib.sha256(path.read_bytes()).hexdigest() == GOLDEN[fmt]


def _read_back(path: Path, fmt: str) -> list[dict[str, object]]:
    """Every debit's fields as the standard library's parser reads them."""
    ns = NS[fmt]
    found = []
    for pmt in ET.parse(path).getroot().iter(f"{ns}PmtInf"):
        when = pmt.findtext(f"{ns}ReqdColltnDt") or ""
        for tx in pmt.iter(f"{ns}DrctDbtTxInf"):
            amount = tx.find(f"{ns}InstdAmt")
            assert amount is not None and amount.text is not None
            whole, _, cents = amount.text.partition(".")
            agent = tx.find(f"{ns}DbtrAgt/{ns}FinInstnId")
            assert agent is not None
            bank = next(iter(agent)).findtext(f"{ns}Id") or next(iter(agent)).text
            signed = tx.findtext(f"{ns}DrctDbtTx/{ns}MndtRltdInf/{ns}DtOfSgntr")
            found.append(
                {
                    "end_to_end_id": tx.findtext(f"{ns}PmtId/{ns}EndToEndId"),
                    "retry_of": tx.findtext(f"{ns}PmtId/{ns}InstrId"),
                    "amount_minor": int(whole) * 100 + int(cents),
                    "currency": amount.get("Ccy"),
                    "name": tx.findtext(f"{ns}Dbtr/{ns}Nm"),
                    "account": tx.findtext(f"{ns}DbtrAcct/{ns}Id/{ns}IBAN")
                    or tx.findtext(f"{ns}DbtrAcct/{ns}Id/{ns}Othr/{ns}Id"),
                    "bank": None if bank == "NOTPROVIDED" else bank,
                    "mandate_id": tx.findtext(f"{ns}DrctDbtTx/{ns}MndtRltdInf/{ns}MndtId"),
                    "mandate_date": date.fromisoformat(signed) if signed else None,
                    "collection_date": date.fromisoformat(when),
                    "sequence": pmt.findtext(f"{ns}PmtTpInf/{ns}SeqTp"),
                    "remittance": tx.findtext(f"{ns}RmtInf/{ns}Ustrd"),
                }
            )
    return found


@pytest.mark.parametrize("fmt", ["pain.008.001.02", "pain.008.001.08"])
def test_every_debit_reads_back_field_by_field_from_a_valid_file(tmp_path: Path, fmt: str) -> None:
    debits = [debit(i) for i in range(SIZE)]
    path = tmp_path / "f.xml"
    write(path, fmt, debits, LIMITS)
    assert_valid(path, fmt)  # the official XSD (shared/iso20022), lxml XMLSchema
    fields = list(_read_back(path, fmt)[0])
    assert _read_back(path, fmt) == [{f: getattr(d, f) for f in fields} for d in debits]
    text = path.read_text(encoding="utf-8")
    assert "O&apos;Brien" not in text and "O'Brien &amp; Söhne &lt;GmbH&gt;" in text
    assert "ᠪᠠᠲᠤ ᠴᠢᠯᠠᠭᠤ" in text and "李𠀀四" in text and "Say &quot;hi&quot; &gt; all" in text


def _lines(fmt: str = "pain.008.001.08", profile: str = "iso") -> pain008.Pain008Writer:
    return pain008.Pain008Writer(
        io.BytesIO(), name="x.xml", format=fmt, creditor=CREDITOR, profile=profile
    )


SPAN = BatchSpan(0, 0, 1, 1, DAY, "RCUR")


def test_the_common_chunks_take_the_chunked_path() -> None:
    writer = _lines()
    plain = [debit(i) for i in range(2048)]  # names with & < > " and a 140-character one
    ibans = [debit(i) for i in range(2500, 4548)]
    for chunk in (plain, ibans, plain[:1], ibans[-1:]):
        lines = "".join(writer.line(d, SPAN) for d in chunk)
        assert writer.lines.render(chunk, SPAN) == (lines, sum(d.amount_minor for d in chunk))
    assert writer.lines.render(plain[:5] + ibans[:5], SPAN) is None  # both kinds: one by one
    assert writer.lines.render([debit(5500)], SPAN) is None  # a retry: one by one


BAD = [
    ({"name": "bad\x07bell"}, r"U\+0007"),
    ({"name": "tab\tinside"}, r"U\+0009"),
    ({"name": "line\nbreak"}, r"U\+000A"),
    ({"name": " 张三"}, "starts or ends with a space"),
    ({"name": "张" * 141}, "debtor name has 141 characters"),
    ({"end_to_end_id": "X" * 36}, "EndToEndId has 36"),
    ({"mandate_id": ""}, "MndtId is empty"),
    ({"amount_minor": 0}, "greater than zero"),
    ({"account": iban(1)[:-1] + "0"}, "IBAN check digits"),
    ({"account": "6217 0000"}, "letters and digits only"),
    ({"account": "62170000\n62170001"}, "letters and digits only"),
    ({"account": f"{iban(1)}\n{iban(2)}"}, "is not an IBAN"),
    ({"currency": "EUR"}, "debit in EUR"),
    ({"bank": "1051\x07"}, r"agent bank code contains the character U\+0007"),
    ({"bank": "ICBKXXBJ1"}, None),  # not a BIC: a domestic code, written in Othr/Id
]


@pytest.mark.parametrize(("change", "message"), BAD)
def test_a_bad_value_deep_in_a_chunk_is_refused_naming_its_debit(
    tmp_path: Path, change: dict[str, object], message: str | None
) -> None:
    debits = [debit(i) for i in range(3000)]
    debits[2700] = debit(2700, **change)  # batch 2, debit 201: inside its first chunk
    if message is None:
        write(tmp_path / "f.xml", "pain.008.001.08", debits, LIMITS)
        return
    with pytest.raises(BankFileError, match=message) as info:
        write(tmp_path / "f.xml", "pain.008.001.08", debits, LIMITS)
    assert "KYQ20260302001-002, debit 201" in str(info.value)


def test_a_float_amount_in_a_chunk_is_a_type_error(tmp_path: Path) -> None:
    debits = [debit(i) for i in range(100)]
    debits[50] = debit(50, amount_minor=380.0)
    with pytest.raises(TypeError, match="integer minor units"):
        write(tmp_path / "f.xml", "pain.008.001.08", debits)


_ANY_TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",))
    | st.sampled_from(list("&<>\"' \t\n\x07\x85\u2028\u3000\ufffe")),
    max_size=150,
)
_MOSTLY_PLAIN = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp"))
    | st.sampled_from(list("&<>\"'")),
    min_size=1,
    max_size=35,
)
_SEPA_TEXT = st.text("AZaz09/-?:().,'+ ", min_size=1, max_size=36)
# ASCII only (the chunked path's string-operation checks): controls, DEL, edge spaces
_ASCII_TEXT = st.text(st.characters(max_codepoint=127), max_size=40) | st.text(
    "Az0 &<\t\x7f", max_size=36
)
_TEXTS = st.lists(
    _MOSTLY_PLAIN | _SEPA_TEXT | st.sampled_from(NAMES) | _ANY_TEXT | _ASCII_TEXT,
    min_size=1,
    max_size=3,
)
_ACCOUNTS = (
    st.lists(st.sampled_from([iban(7), iban(8), iban(123_456)]), min_size=1, max_size=5)
    | st.lists(st.text("0123456789AZaz", min_size=1, max_size=35), min_size=1, max_size=5)
    | st.lists(
        st.sampled_from(
            ["GB82WEST12345698765432", "DE00x", "a\nb", iban(9)[:-1] + "1", "DE89 1", "DE٤٤1"]
        ),
        min_size=1,
        max_size=5,
    )
)
_AMOUNTS = st.lists(
    st.integers(1, 10**17) | st.integers(-2, 10**18 + 2) | st.sampled_from([True, 2.5]),
    min_size=1,
    max_size=5,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fmt=st.sampled_from(["pain.008.001.02", "pain.008.001.08"]),
    profile=st.sampled_from(["iso", "sepa"]),
    names=_TEXTS,
    ids=_TEXTS,
    accounts=_ACCOUNTS,
    amounts=_AMOUNTS,
)
def test_the_chunked_path_writes_what_the_debit_by_debit_path_writes(
    fmt: str,
    profile: str,
    names: list[str],
    ids: list[str],
    accounts: list[str],
    amounts: list[object],
) -> None:
    writer = _lines(fmt, profile)
    sepa = {"remittance": "Pension 2026", "mandate_date": DAY} if profile == "sepa" else {}
    chunk = [
        debit(
            i,
            name=names[i % len(names)],
            end_to_end_id=ids[i % len(ids)],
            mandate_id=ids[-1 - i % len(ids)],
            account=accounts[i % len(accounts)],
            amount_minor=amounts[i % len(amounts)],
            retry_of=None,
            **sepa,
        )
        for i in range(max(len(names), len(ids), len(accounts), len(amounts)))
    ]
    rendered = writer.lines.render(chunk, SPAN)
    try:
        expected = "".join(writer.line(d, SPAN) for d in chunk)
    except (ValueError, TypeError):
        assert rendered is None  # refused one by one: the chunked path took none of it
        return
    assert rendered is None or rendered == (expected, sum(d.amount_minor for d in chunk))


@settings(max_examples=150, deadline=None)
@given(
    text=st.from_regex(r"\A[+ ]?[0-9０٤]{0,20}(\.[0-9]{0,4})?[ ]?\Z") | st.text(max_size=25),
    digits=st.sampled_from([0, 2, 3]),
)
def test_the_recounts_plain_amount_reading_agrees_with_the_full_one(text: str, digits: int) -> None:
    fast = plain_minor(text, digits)
    try:
        line = SimpleNamespace(sourceline=1)
        full: int | None = amount_minor(Path("f.xml"), line, text.strip(), digits, "InstdAmt")
    except BankFileError:
        full = None
    assert fast is None or fast == full


@pytest.mark.parametrize("ccy", ["JPY", "KWD", "CLF", "CNY"])
def test_amounts_of_every_decimal_count_write_as_debit_by_debit(ccy: str) -> None:
    who = Creditor(name="Office", account="15050171001234567890", bank="105191000011", currency=ccy)
    writer = pain008.Pain008Writer(
        io.BytesIO(), name="x.xml", format="pain.008.001.08", creditor=who
    )
    amounts = [1, 9, 10, 99, 100, 101, 999, 1000, 10_001, 38_000, 10**17 + 3, 10**18 - 1]
    chunk = [debit(i, currency=ccy, amount_minor=a) for i, a in enumerate(amounts)]
    lines = "".join(writer.line(d, SPAN) for d in chunk)
    assert writer.lines.render(chunk, SPAN) == (lines, sum(amounts))
