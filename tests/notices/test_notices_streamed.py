"""Public lists made one at a time, read village by village (a province's would not fit in
memory at once), against the lists made the way they were before: every list of every
level, the same bytes on disk, from a reconciliation in the database and in the client, on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from paychannels.documents.notices import HAS_PAID, Level, Notice, NoticeLine, write_notices
from paychannels.documents.notices.build import iter_notices, public_id
from paychannels.reconcile import Reconciliation, reconcile
from paychannels.reconcile.classify import yuan
from paychannels.security.masking import mask_name
from tests.reconcile.day import Day, generate_day

ON = date(2026, 3, 3)


def _all_at_once(
    rec: Reconciliation,
    level: Level,
    *,
    county: str = "",
    township: str | None = None,
    village: str | None = None,
) -> list[Notice]:
    """The lists as ``build_notices`` made them before (the oracle): every paid line kept
    from one pass in roster order, then sorted by place."""
    notices: dict[tuple[str, str], Notice] = {}
    for row, payer_id in rec.details_with_ids():
        if township is not None and row.township != township:
            continue
        if village is not None and row.village != village:
            continue
        key = {
            Level.COUNTY: ("", ""),
            Level.TOWNSHIP: (row.township, ""),
            Level.VILLAGE: (row.township, row.village),
        }[level]
        notice = notices.get(key)
        if notice is None:
            notice = notices[key] = Notice(level, county, *key)
        counts = notice.counts.setdefault((row.township, row.village), [0, 0])
        counts[0] += 1
        if row.period not in notice.periods:
            notice.periods.append(row.period)
        if row.category not in HAS_PAID:
            continue
        counts[1] += 1
        notice.lines.append(
            NoticeLine(
                name=mask_name(row.name),
                payer=public_id(payer_id),
                township=row.township,
                village=row.village,
                insurance=row.reference.partition(":")[2] or row.reference,
                grade=row.grade,
                amount=yuan(row.received_minor, row.currency),
                period=row.period,
            )
        )
    for notice in notices.values():
        notice.lines.sort(key=lambda x: (x.township, x.village))
    return [notices[k] for k in sorted(notices)]


def _bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _the_day(tmp_path: Path, journal_url: str) -> Day:
    """The generated day (every category) and a township whose periods come in one order
    by roster line and in the other by village: 2026 first in 胜利村, 2025 later in 新立村,
    which sorts first."""
    day = Day.open(tmp_path, journal_url)
    generate_day(day, 120, seed=4)
    for n, village, period in (
        (121, "胜利村", "2026"),
        (122, "新立村", "2025"),
        (123, "胜利村", "2025"),
        (124, "新立村", "2026"),
    ):
        day.owe(n, "300.00", town="阿尔山镇", village=village, period=period)
        day.pay(n, "300.00", reference=f"{period}:城乡居民基本养老保险")
    return day


@pytest.mark.parametrize("in_database", [True, False], ids=["in-database", "in-client"])
def test_lists_made_one_at_a_time_are_the_same_files(
    tmp_path: Path, journal_url: str, in_database: bool
) -> None:
    day = _the_day(tmp_path, journal_url)
    try:
        with reconcile(day.journal, day.roster, in_database=in_database) as rec:
            towns = [None, "阿尔山镇", "", "科尔沁镇"]
            for level in Level:
                for town in towns:
                    kw = {"county": "科尔沁右翼前旗", "township": town}
                    old = _all_at_once(rec, level, **kw)
                    assert old and any(n.lines for n in old)  # the comparison proves something
                    new = list(iter_notices(rec, level, **kw))
                    assert new == old, (level, town)
                    where = tmp_path / f"{level.value}-{town}"
                    write_notices(old, where / "old", on=ON)
                    write_notices(iter_notices(rec, level, **kw), where / "new", on=ON)
                    assert _bytes(where / "new") == _bytes(where / "old"), (level, town)
            [arxan] = iter_notices(rec, Level.TOWNSHIP, township="阿尔山镇")
            assert arxan.periods == ["2026", "2025"]  # roster order, not village order
            [village] = iter_notices(rec, Level.VILLAGE, township="", village="胜利村")
            assert village.village == "胜利村" and village.counts.keys() == {("", "胜利村")}
    finally:
        day.journal.close()
