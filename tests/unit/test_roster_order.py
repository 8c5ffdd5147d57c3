"""``IndexOrder``: a roster's entries back in the journal's index order (payer, reference;
the file's order among equals), every field as read, and no scratch file left behind."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from paychannels.documents.roster import RosterEntry
from paychannels.documents.rosterorder import IndexOrder
from paychannels.values.money import Money


def _entry(line: int, payer: str, period: str, **kw: Any) -> RosterEntry:
    return RosterEntry(line, payer, "张三", Money.of_minor(38000, "CNY"), period, **kw)


def test_entries_come_back_sorted_by_payer_and_reference_with_every_field() -> None:
    full = _entry(
        4,
        "150422199001010011",
        "2026",
        insurance_type="城乡居民基本养老保险",
        channels=("bank", "wechat"),
        mandate_date=date(2025, 3, 1),
        extra={"备注": "x"},
        account="6217000010000000000",
    )
    given = [
        _entry(1, "150422199001010029", "2026"),
        full,
        _entry(2, "150422199001010011", "2025"),
        _entry(3, "150422199001010029", "2026"),  # the same key: the file's order kept
    ]
    with IndexOrder() as order:
        for e in given:
            order.add(e)
        got = list(order.entries())
    assert order.count == 4
    assert [(e.payer_id, e.reference, e.line) for e in got] == [
        ("150422199001010011", "2025", 2),
        ("150422199001010011", "2026:城乡居民基本养老保险", 4),
        ("150422199001010029", "2026", 1),
        ("150422199001010029", "2026", 3),
    ]
    assert got[1] == full


def test_the_scratch_folder_is_removed_on_close() -> None:
    order = IndexOrder()
    order.add(_entry(1, "P1", "2026"))
    assert Path(order.folder).is_dir()
    order.close()
    assert not Path(order.folder).exists()
