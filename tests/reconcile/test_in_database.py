"""Reconciliation in the database against the in-process one, on a generated day holding
every category (and refunds, doubt, flags, money from outside the roster, several
townships, villages and operators), on both journal backends: the same answer, line by
line and total by total, and the same files."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from paychannels import Status
from paychannels.documents.notices import Level, build_notices
from paychannels.documents.roster import RosterError
from paychannels.reconcile import Category, Reconciliation, reconcile
from paychannels.reconcile.model import Concern
from paychannels.reconcile.report import write_outputs
from paychannels.reconcile.result import CSV_HEADER
from paychannels.values.errors import JournalError
from tests.reconcile.day import OTHER, T0, Day, generate_day


@pytest.fixture
def day(tmp_path: Path, journal_url: str) -> Iterator[Day]:
    d = Day.open(tmp_path, journal_url)
    yield d
    d.journal.close()


def _plain(rec: Reconciliation) -> dict[str, Any]:
    """Everything a reconciliation says, without when it ran or how long each phase took."""
    summary = rec.summary(concerns=10**6)
    for key in ("generated_at", "timings"):
        summary.pop(key)
    return {
        "summary": summary,
        "details": list(rec.details()),
        "ids": list(rec.payer_ids()),
        "villages": {k: v.as_dict() for k, v in rec.villages.items()},
        "concerns": rec.concerns,
    }


def _files(rec: Reconciliation, folder: Path) -> dict[str, str]:
    paths = write_outputs(rec, folder)
    out = {k: p.read_text("utf-8-sig") for k, p in paths.items() if k != "html"}
    summary = json.loads(out["json"])
    summary.pop("generated_at"), summary.pop("timings")
    out["json"] = json.dumps(summary, ensure_ascii=False, sort_keys=True)
    return out


CATEGORY = CSV_HEADER.index("category")


@pytest.mark.slow
def test_in_database_equals_in_process_category_by_category(day: Day, tmp_path: Path) -> None:
    generate_day(day, 240, seed=16)
    old = reconcile(day.journal, day.roster, in_database=False)
    new = reconcile(day.journal, day.roster, in_database=True)
    try:
        # every category is there, else the comparison proves less than it says
        assert {c.value for c in Category} - {"not_in_roster"} <= set(old.totals.counts)
        assert old.outside.obligations and old.in_doubt and old.doubled
        assert any(c.category == "attention" for c in old.concerns)
        for category in Category:  # category by category: who, how many, how much
            lines_old = [r.line for r in old.details() if r.category is category]
            lines_new = [r.line for r in new.details() if r.category is category]
            assert lines_new == lines_old, category
            assert new.totals.money.get(category) == old.totals.money.get(category), category
            for rec in (old, new):  # one category's lines, picked where they are kept
                every = [r for r in rec.csv_rows() if r[CATEGORY] == category.value]
                assert list(rec.csv_rows(category)) == every, category
        assert _plain(new) == _plain(old)
        assert _files(new, tmp_path / "new") == _files(old, tmp_path / "old")
        notices = [build_notices(r, Level.VILLAGE, county="科尔沁右翼前旗") for r in (old, new)]
        assert notices[0] == notices[1]
    finally:
        new.close()


def test_the_staged_table_goes_with_close(day: Day) -> None:
    day.owe(1, "300.00"), day.pay(1, "300.00")
    before = _tables(day)
    with reconcile(day.journal, day.roster, in_database=True) as rec:
        assert len(_tables(day)) == len(before) + 1  # the run's obligations, beside the journal
        assert [r.category for r in rec.details()] == [Category.PAID]
    assert _tables(day) == before


def test_repeated_lines_are_found_in_sql_as_the_roster_reader_finds_them(day: Day) -> None:
    for n in (1, 2, 1, 3, 2):
        day.owe(n, "300.00")
    with pytest.raises(RosterError) as old:
        reconcile(day.journal, day.roster, in_database=False)
    before = _tables(day)
    with pytest.raises(RosterError) as new:
        reconcile(day.journal, day.roster, in_database=True)
    assert new.value.problems == old.value.problems
    assert [p.line for p in new.value.problems] == [4, 6]
    assert _tables(day) == before  # a refused roster leaves nothing behind


def _tables(day: Day) -> set[str]:
    """The journal's tables (SQLite's catalogue, or PostgreSQL's in the test's schema)."""
    return {t for t in _list_tables(day) if t.startswith("pc_")}


def _list_tables(day: Day) -> list[str]:
    url = day.journal.url
    if url.startswith("sqlite"):
        import sqlite3

        path = url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as db:
            return [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    import os

    import psycopg

    schema = url.split("search_path%3D", 1)[1].split("&", 1)[0]
    base = os.environ["PAYCHANNELS_TEST_PG"]
    with psycopg.connect(base) as db:
        rows = db.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))
        return [r[0] for r in rows]


def test_a_big_roster_is_staged_by_a_second_process(
    day: Day, monkeypatch: pytest.MonkeyPatch
) -> None:
    from paychannels.reconcile import indb

    spawned: list[object] = []
    spawn = indb.spawn_module

    def counted(module: str, args: tuple[str, str, str, Any, str]) -> Any:
        spawned.append(args[4])
        return spawn(module, args)

    monkeypatch.setattr(indb, "PARALLEL_FROM", 0)  # every roster is "big"
    monkeypatch.setattr(indb, "spawn_module", counted)
    generate_day(day, 40, seed=3)
    old = reconcile(day.journal, day.roster, in_database=False)
    with reconcile(day.journal, day.roster, in_database=True) as new:
        assert len(spawned) == 1
        assert _plain(new) == _plain(old)
    day.owe(1, "300.00")  # a repeated line, found by the child's SQL
    with pytest.raises(RosterError) as info:
        reconcile(day.journal, day.roster, in_database=True)
    assert len(spawned) == 2 and "same payer and period" in str(info.value)


def test_progress_counts_every_journal_record_once(day: Day) -> None:

    from paychannels.channels.settlement import Settlement, SettlementKind

    generate_day(day, 30, seed=5)
    day.settle(  # a terminal with figures: its rows stream past the progress bar
        "hall-1",
        Settlement(SettlementKind.TERMINAL, "1", "end of day 1", "CNY", T0 + timedelta(hours=9), 0),
    )
    told: list[int] = []
    with reconcile(day.journal, day.roster, progress=told.append, in_database=True) as rec:
        assert len(told) >= 2 and sum(told) == rec.journal_rows


def test_the_default_joins_in_the_database_on_postgresql_or_for_a_big_roster(
    day: Day, monkeypatch: pytest.MonkeyPatch
) -> None:
    from paychannels.reconcile import run

    day.owe(1, "300.00"), day.pay(1, "300.00")
    before = _tables(day)
    with reconcile(day.journal, day.roster) as rec:
        staged = len(_tables(day)) - len(before)
        assert staged == (0 if day.journal.url.startswith("sqlite") else 1)
        assert [r.category for r in rec.details()] == [Category.PAID]
    monkeypatch.setattr(run, "IN_DATABASE_FROM", 0)  # every roster is big
    with reconcile(day.journal, day.roster):
        assert len(_tables(day)) == len(before) + 1


def test_concerns_stay_in_the_database_and_read_back_as_the_in_process_ones(day: Day) -> None:
    """A province's concerns (about 6 % of its obligations) are read from the run's table,
    not held as objects: only those the roster has no line for (money from outside the
    roster, settlement figures) live in this process; the sequence reads the same."""
    generate_day(day, 120, seed=4)
    old = reconcile(day.journal, day.roster, in_database=False)
    old_concerns = list(old.concerns)
    del old
    gc.collect()
    new = reconcile(day.journal, day.roster, in_database=True)
    try:
        gc.collect()
        ours = {id(c) for c in old_concerns}
        held = [o for o in gc.get_objects() if type(o) is Concern and o.line and id(o) not in ours]
        assert held == [], f"{len(held)} roster concerns held in memory"
        rostered = [c for c in old_concerns if c.line]
        assert len(rostered) >= 10  # else the check above proves little
        concerns = new.concerns
        assert len(concerns) == len(old_concerns)
        assert list(concerns) == old_concerns and concerns == old_concerns
        assert concerns[:3] == old_concerns[:3] and concerns[-1] == old_concerns[-1]
        assert concerns[5] == old_concerns[5] and concerns[len(rostered) - 1] == rostered[-1]
        assert concerns[len(concerns) :] == []
        with pytest.raises(IndexError):
            concerns[len(concerns)]
    finally:
        new.close()
    with pytest.raises(JournalError, match="read them before close"):
        list(new.concerns)


def test_sql_decides_only_what_classify_would_decide_the_same_way(day: Day, tmp_path: Path) -> None:
    """The boundary of the verdicts SQL gives without judgement (unpaid, plainly paid):
    every near miss of "one payment, succeeded, exactly the amount, nothing refunded,
    unflagged" is left to ``classify`` and comes out as the in-process path says, and the
    judged verdicts' texts (tabs, backslashes, line breaks in an attention) are written
    back unchanged."""
    day.owe(101, "300.00"), day.pay(101, "300.00")  # plainly paid
    day.owe(102, "300.00")  # unpaid
    day.owe(103, "300.00"), day.pay(103, "300.00", reference=OTHER)  # another period's money
    day.owe(104, "300.00"), day.pay(104, "400.00", taken="300.00")  # asked another amount
    day.owe(105, "300.00"), day.pay(105, "300.00", taken="290.00")  # took another amount
    day.owe(106, "300.00"), day.refund(day.pay(106, "300.00"), "300.00")  # given back in full
    day.owe(107, "300.00"), day.pay(107, "300.00", attention="a\tb\\c\nd \\N")  # flagged
    day.owe(108, "300.00"), day.pay(108, "300.00", status=Status.DECLINED)
    day.pay(108, "300.00", at=T0 + timedelta(hours=1))  # declined, then paid
    day.owe(109, "300.00"), day.pay(109, "300.00", status=Status.DECLINED)  # declined only
    day.owe(110, "300.00"), day.pay(110, "300.00"), day.pay(110, "300.00", again=True)  # twice
    day.owe(111, "300.00", period="2025"), day.pay(111, "300.00", reference=OTHER)
    day.owe(112, "200.00"), day.pay(112, "200.00", channel="wx")  # another grade, paid
    day.owe(113, "300.00"), day.pay(113, "300.00", status=Status.UNKNOWN)
    generate_day(day, 60, seed=11)  # and every story of a day around them
    old = reconcile(day.journal, day.roster, in_database=False)
    new = reconcile(day.journal, day.roster, in_database=True)
    try:
        assert [r.category for r in new.details()][:13] == [r.category for r in old.details()][:13]
        assert any("a\tb\\c\nd \\N" in c.text for c in old.concerns)
        assert new.totals.as_dict() == old.totals.as_dict()
        assert _plain(new) == _plain(old)
        assert _files(new, tmp_path / "new") == _files(old, tmp_path / "old")
    finally:
        new.close()


def test_a_crashed_runs_tables_and_stages_are_dropped_by_a_run_a_day_later(day: Day) -> None:
    from datetime import UTC, datetime

    from paychannels.journal.obligations import new_run

    old = new_run(datetime.now(UTC) - timedelta(days=2))
    recent = new_run()  # another process's run, still going
    left = [f"pc_rec_{old}{s}" for s in ("", "_in", "_o", "_v")] + [f"pc_rec_{recent}_in"]
    before = _tables(day)
    _make_tables(day, left)
    day.owe(1, "300.00")
    with reconcile(day.journal, day.roster, in_database=True):
        pass
    assert _tables(day) - before == {f"pc_rec_{recent}_in"}


def _make_tables(day: Day, names: list[str]) -> None:
    """Tables as a crashed process leaves them (made from outside the journal)."""
    url = day.journal.url
    ddl = [f"CREATE TABLE {name} (x INTEGER)" for name in names]
    if url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            for statement in ddl:
                db.execute(statement)
        return
    import os

    import psycopg

    schema = url.split("search_path%3D", 1)[1].split("&", 1)[0]
    with psycopg.connect(os.environ["PAYCHANNELS_TEST_PG"], autocommit=True) as db:
        db.execute(f"SET search_path = {schema}")
        for statement in ddl:
            db.execute(statement)
