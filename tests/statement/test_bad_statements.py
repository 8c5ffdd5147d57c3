"""Statements that cannot be taken as they stand: another account, a missing statement
between two, the same statement twice, a booking in another currency. Each is a typed error
or a line for a person, and no credit is ever counted twice."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from paychannels.bankfiles.statement import StatementError, StatementLine
from paychannels.reconcile.statements import read_statements
from tests.statement.pyiso import Booking, write_camt053

ACCOUNT = "15050171001234567890"
D1, D2, D3 = date(2026, 3, 3), date(2026, 3, 4), date(2026, 3, 5)


def _day(folder: Path, name: str, day: date, opening: int, *minors: int, **kw: object) -> Path:
    account = str(kw.pop("account", ACCOUNT))
    return write_camt053(
        folder / name, account=account, stmt_id=f"ST-{day:%m%d}", day=day,
        opening_minor=opening, bookings=[Booking(m, day, bank_ref=f"R{m}") for m in minors],
        **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def _read(
    paths: list[Path], account: str | None = ACCOUNT
) -> tuple[list[StatementLine], list[str]]:
    got: list[StatementLine] = []
    run = read_statements(paths, got.append, account=account)
    return got, run.notes


def test_a_statement_for_another_account_is_refused_naming_it(tmp_path: Path) -> None:
    path = _day(tmp_path, "other.xml", D1, 0, 100, account="62220000123456789")
    with pytest.raises(StatementError) as caught:
        _read([path])
    assert "other.xml" in str(caught.value) and "****6789" in str(caught.value)
    assert "not the collection account ****7890" in str(caught.value)
    assert ACCOUNT not in str(caught.value)  # account numbers are masked in messages
    # without --account, the first statement names it and a second one must agree
    ours = _day(tmp_path, "ours.xml", D2, 0, 100)
    with pytest.raises(StatementError):
        _read([ours, path], account=None)


def test_a_missing_statement_is_named_by_the_balances_around_it(tmp_path: Path) -> None:
    first = _day(tmp_path, "d1.xml", D1, 0, 10000)  # closes 100.00
    third = _day(tmp_path, "d3.xml", D3, 10000 + 2500, 700)  # opens 125.00: 25.00 unseen
    got, notes = _read([third, first])
    assert [g.minor for g in got] == [10000, 700]
    [note] = notes
    assert "a statement is missing between d1.xml" in note and "d3.xml" in note
    assert "25.00 moved unseen" in note


def test_duplicate_statements_count_once(tmp_path: Path) -> None:
    first = _day(tmp_path, "d1.xml", D1, 0, 10000, 500)
    copy = tmp_path / "copy-of-d1.xml"
    shutil.copy(first, copy)
    second = _day(tmp_path, "d2.xml", D2, 10500, 300)
    # the same statement again under another file name, written anew (other bytes)
    again = write_camt053(
        tmp_path / "d1-again.xml", account=ACCOUNT, stmt_id="ST-0303", day=D1,
        opening_minor=0, bookings=[Booking(10000, D1, bank_ref="X"), Booking(500, D1)],
    )  # fmt: skip
    got, notes = _read([first, copy, second, again])
    assert sorted(g.minor for g in got) == [300, 500, 10000]
    assert any("same file as" in n for n in notes)
    assert any("statement ST-0303 again: counted once" in n for n in notes)


def test_one_id_with_other_figures_is_an_error(tmp_path: Path) -> None:
    first = _day(tmp_path, "d1.xml", D1, 0, 10000)
    other = write_camt053(
        tmp_path / "d1-b.xml", account=ACCOUNT, stmt_id="ST-0303", day=D1,
        opening_minor=0, bookings=[Booking(9999, D1)],
    )  # fmt: skip
    with pytest.raises(StatementError, match="read before with other figures"):
        _read([first, other])


def test_a_booking_in_another_currency_is_noted_and_not_counted(tmp_path: Path) -> None:
    path = write_camt053(
        tmp_path / "fx.xml", account=ACCOUNT, stmt_id="ST-FX", day=D1, opening_minor=0,
        bookings=[Booking(10000, D1), Booking(2500, D1, ccy="USD")], closing_minor=10000,
    )  # fmt: skip
    got, notes = _read([path])
    assert [(g.minor, g.currency) for g in got] == [(10000, "CNY")]
    [note] = notes
    assert note.startswith("fx.xml line") and "25.00 in USD on a CNY account" in note


def test_bookings_that_do_not_lead_from_opening_to_closing_are_noted(tmp_path: Path) -> None:
    path = _day(tmp_path, "d1.xml", D1, 0, 10000, closing_minor=9000)
    _got, notes = _read([path])
    assert notes == ["d1.xml statement ST-0303: its bookings move 100.00, its balances 90.00"]
