"""The simulated bank's collection-account statements: valid against the official camt.053
schema, chained day to day, and read back exactly (also at 5,000 bookings a day)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from lxml import etree

from paychannels.bankfiles.statement import StatementLine
from paychannels.bankfiles.validate import schema
from paychannels.reconcile.statements import read_statements
from paychannels.simulators.bank.statement import Booking, CollectionAccount

D1, D3 = date(2026, 3, 3), date(2026, 3, 5)


def test_statements_are_valid_chained_and_read_back(tmp_path: Path) -> None:
    account = CollectionAccount("15050171001234567890", opening_minor=12345)
    account.book(Booking(50000, D1, bank_ref="A1", text="结算款 hall-1"))
    account.book(Booking(99500, D1, msg_id="KYQ1", batch_id="KYQ1-1", end_to_end="E2E-1"))
    account.book(Booking(700, D3, credit=False, msg_id="KYQ1", text="退回"))
    paths = account.statements(tmp_path, D1, D3)
    assert [p.name for p in paths] == [f"camt053-2026030{d}.xml" for d in (3, 4, 5)]
    xsd = schema("camt.053.001.08")
    for path in paths:
        assert xsd.validate(etree.parse(str(path))), xsd.error_log
    got: list[StatementLine] = []
    run = read_statements(paths, got.append)
    assert run.notes == []  # balances chain, bookings add up
    assert [(g.credit, g.minor, g.booked) for g in got] == [
        (True, 50000, D1), (True, 99500, D1), (False, 700, D3),
    ]  # fmt: skip
    assert {"KYQ1", "KYQ1-1", "E2E-1"} <= set(got[1].refs)
    assert run.heads[-1].closing_minor == 12345 + 50000 + 99500 - 700


def test_a_big_day_streams(tmp_path: Path) -> None:
    account = CollectionAccount("15050171001234567890")
    for i in range(5_000):
        account.book(Booking(100 + i % 7, D1, end_to_end=f"E{i:08d}", msg_id="KYQ9"))
    [path] = account.statements(tmp_path, D1, D1)
    n = 0

    def count(line: StatementLine) -> None:
        nonlocal n
        n += 1

    run = read_statements([path], count)
    assert n == 5_000 and run.notes == []
