"""The writer's output for plain-text (ASCII) collections, pinned byte for byte: the shape of
a SEPA file and of the benchmark (Latin names, IBANs), which the chunked path checks with
C-level string operations instead of a regex. Digests taken from the writer before that
change; each file is also valid against the official XSD."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from paychannels.bankfiles import pain008
from paychannels.bankfiles.errors import BankFileError
from paychannels.bankfiles.model import Creditor, Debit
from paychannels.bankfiles.split import Limits, plan_files
from tests.bank.xsd import assert_valid

DAY = date(2026, 3, 3)
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CREDITORS = {
    "iso": Creditor(
        name="Social Insurance Office & <Co>",
        account="15050171001234567890",
        bank="105191000011",
        scheme_id="CN12ZZZ150422",
        currency="CNY",
    ),
    "sepa": Creditor(
        name="Social Insurance Office",
        account="DE89370400440532013000",
        bank="COBADEFFXXX",
        scheme_id="DE98ZZZ09999999999",
        currency="EUR",
    ),
}
# ASCII names at the edges of the rules: the longest allowed (140 / 70), one character,
# XML specials (escaped), inner spaces, SEPA's punctuation
ISO_NAMES = [
    "A" * 140,
    "O'Brien & Sons <Ltd>",
    'Say "hi" > all',
    "x",
    "Zhang  San",
    "a/b-c?d:e(f)g.h,i'j+k",
]
SEPA_NAMES = ["A" * 70, "O'Brien (Sons) Ltd.", "x", "Muller-Ludenscheidt/GmbH+Co", "a b"]


def iban(i: int) -> str:
    bban = f"37040044{i:010d}"
    check = 98 - int(bban + "131400") % 97
    return f"DE{check:02d}{bban}"


def debit(i: int, profile: str, **kw: object) -> Debit:
    sepa = profile == "sepa"
    names = SEPA_NAMES if sepa else ISO_NAMES
    values: dict[str, object] = dict(
        end_to_end_id="E" * 35 if i % 89 == 1 else f"E2E{i:012d}" + ("" if sepa or i % 7 else "&"),
        amount_minor=1 + i * 7919 % 10_000_000,
        currency="EUR" if sepa else "CNY",
        name=names[i % len(names)] if i % 4 == 0 else f"Zhang San {i}",
        account=iban(i) if sepa or i < 3000 else f"6217{i:015d}",
        bank="COBADEFFXXX" if sepa or i % 3 else None,
        mandate_id="M" * 35 if i % 83 == 2 else f"DK{i:010d}",
        mandate_date=date(2020, 1, 1 + i % 28),
        collection_date=DAY,
        remittance="Pension contribution 2026" if sepa or i % 5 else None,
    )
    values.update(kw)
    return Debit(**values)  # type: ignore[arg-type]


def write(path: Path, fmt: str, profile: str, debits: list[Debit]) -> str:
    amounts = (d.amount_minor for d in debits)
    (batches,) = plan_files([(DAY, "RCUR", amounts)], Limits(rows_per_batch=2500))
    _totals, sha = pain008.write_file(
        path,
        format=fmt,
        creditor=CREDITORS[profile],
        msg_id="KYQ20260302001",
        created_at=AT,
        batches=batches,
        debits=debits,
        profile=profile,
    )
    return sha


GOLDEN = {
    ("pain.008.001.02", "iso"): (
        "29dac8581ca363b04c7ef004206d18fdd90b8708c2eb4766ea5636dfcbef1344"
    ),
    ("pain.008.001.08", "iso"): (
        "6ad16c36564c7115dc0ec271128d812669628182d1e203f764ad1a24e4b54004"
    ),
    ("pain.008.001.02", "sepa"): (
        "e664c310b78a5da5a423bb90db7de86573ca83ca8bbc5db08b8b539be75e9e03"
    ),
    ("pain.008.001.08", "sepa"): (
        "b18e6eb5da4ace87404877a9b157cddf2c1aa18ecd2d36ed2324ee06d19c5b8d"
    ),
}
SIZE = 6000


@pytest.mark.parametrize(("fmt", "profile"), sorted(GOLDEN))
def test_plain_text_files_did_not_change_by_a_byte(tmp_path: Path, fmt: str, profile: str) -> None:
    path = tmp_path / "f.xml"
    sha = write(path, fmt, profile, [debit(i, profile) for i in range(SIZE)])
    assert sha == hashlib.sha256(path.read_bytes()).hexdigest() == GOLDEN[fmt, profile]
    assert_valid(path, fmt)


BAD = [
    ({"name": "bad\x07bell"}, r"U\+0007"),
    ({"name": "del\x7fchar"}, r"U\+007F"),
    ({"name": "tab\tinside"}, r"U\+0009"),
    ({"name": "Zhang San "}, "starts or ends with a space"),
    ({"name": " Zhang San"}, "starts or ends with a space"),
    ({"name": " "}, "debtor name is empty"),
    ({"name": ""}, "debtor name is empty"),
    ({"name": "A" * 141}, "debtor name has 141 characters"),
    ({"end_to_end_id": "X" * 36}, "EndToEndId has 36"),
    ({"end_to_end_id": "E2E\x00"}, r"U\+0000"),
    ({"mandate_id": "DK1\r"}, "starts or ends with a space"),
    ({"mandate_id": ""}, "MndtId is empty"),
    ({"account": "DE" + "1" * 33}, "is not an IBAN"),
    ({"account": "DE89 3704 0044"}, "is not an IBAN"),
    ({"account": "DE8937040044053201300_"}, "is not an IBAN"),
    ({"account": iban(1)[:-1] + "0"}, "IBAN check digits"),
]


@pytest.mark.parametrize(("change", "message"), BAD)
def test_a_bad_plain_value_is_refused_naming_its_debit(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    debits = [debit(i, "iso") for i in range(3000)]
    debits[2700] = debit(2700, "iso", **change)  # batch 2, debit 201: inside its first chunk
    with pytest.raises(BankFileError, match=message) as info:
        write(tmp_path / "f.xml", "pain.008.001.08", "iso", debits)
    assert "KYQ20260302001-002, debit 201" in str(info.value)


class _Shown(str):
    """Text whose ``__str__`` says something else than its characters (an f-string or
    ``format`` writes ``__str__``; the checks read the characters)."""

    def __str__(self) -> str:
        return "</Nm><evil/><Nm>"


@pytest.mark.parametrize("field", ["name", "end_to_end_id", "mandate_id", "remittance"])
def test_a_str_subclass_is_written_as_the_characters_that_were_checked(
    tmp_path: Path, field: str
) -> None:
    """A value is written as what was checked: a ``str`` subclass's characters, never its
    ``__str__`` (the checked characters went out through an f-string, unescaped)."""
    debits = [debit(i, "iso") for i in range(3)]
    plain = getattr(debits[1], field)
    setattr(debits[1], field, _Shown(plain))
    path = tmp_path / "f.xml"
    write(path, "pain.008.001.08", "iso", debits)
    text = path.read_text("utf-8")
    assert "<evil/>" not in text
    assert_valid(path, "pain.008.001.08")
