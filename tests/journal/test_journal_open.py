"""A journal is created only when asked: an empty, truncated or foreign file is not a journal.

A backend that finds an emptied journal file and starts a new one retries its keys against
nothing and charges everyone again; so ``Collector.open`` (and every reading command of the
CLI) refuses a place without a journal and leaves no file behind, and ``create=True`` or
``paychannels journal migrate`` creates one only where nothing is.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest

from paychannels import Collector, JournalUnavailable, MemoryChannel, Money, PaymentRequest
from paychannels.cli.main import main
from paychannels.journal import open_journal


def _foreign_sqlite(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total TEXT)")
        conn.execute("INSERT INTO invoices (total) VALUES ('12.00')")
    conn.close()


FOREIGN = {
    "empty": lambda p: p.write_bytes(b""),
    "text": lambda p: p.write_text("payer,amount\nP1,100.00\n"),
    "sqlite": _foreign_sqlite,
}


def test_a_missing_journal_is_not_created_by_default(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    with pytest.raises(JournalUnavailable, match="no journal at"):
        Collector.open(f"sqlite:///{path}")
    with pytest.raises(JournalUnavailable, match="no journal at"):
        open_journal(f"sqlite:///{path}")
    assert sorted(tmp_path.iterdir()) == []  # not even -wal or -shm


@pytest.mark.parametrize("kind", sorted(FOREIGN))
@pytest.mark.parametrize("create", [False, True])
def test_an_empty_or_foreign_file_is_refused_even_with_create(
    tmp_path: Path, kind: str, create: bool
) -> None:
    path = tmp_path / "journal.db"
    FOREIGN[kind](path)
    before = path.read_bytes()
    with pytest.raises(JournalUnavailable, match=r"not a journal|no journal"):
        Collector.open(f"sqlite:///{path}", create=create)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["journal.db"]


def test_create_makes_a_journal_only_where_nothing_is(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/journal.db"
    with Collector.open(url, create=True) as col:
        col.add_channel("hall-1", MemoryChannel())
        paid = col.collect(
            PaymentRequest(
                payer_id="P1", amount=Money("1.00", "CNY"), reference="r", idempotency_key="k"
            ),
            channel="hall-1",
        )
    with Collector.open(url) as col:  # an existing journal opens without create
        assert col.status(paid.id).amount.minor == 100
    with Collector.open(url, create=True) as col:  # and create=True does not replace it
        assert col.status(paid.id).amount.minor == 100


def test_a_truncated_journal_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    Collector.open(f"sqlite:///{path}", create=True).close()
    path.write_bytes(b"")  # emptied by a restore gone wrong
    with pytest.raises(JournalUnavailable, match="not a journal"):
        Collector.open(f"sqlite:///{path}", create=True)


def test_postgres_schema_without_tables_is_no_journal(pg_url: str) -> None:
    with pytest.raises(JournalUnavailable, match="no journal at"):
        Collector.open(pg_url)
    with psycopg.connect(pg_url) as conn:  # nothing was created on the way
        assert conn.execute("SELECT to_regclass('pc_meta')").fetchone() == (None,)
    Collector.open(pg_url, create=True).close()
    Collector.open(pg_url).close()


def test_postgres_schema_with_foreign_tables_is_no_journal(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE pc_payments (id TEXT PRIMARY KEY)")  # someone else's
    with pytest.raises(JournalUnavailable, match="not a journal"):
        Collector.open(pg_url, create=True)


# -- the command line -----------------------------------------------------------------------


def _roster(tmp_path: Path) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text(
        "payer_id,name,township,village,period,amount,currency\n"
        "150422199001011234,张三,Town,Village,2026,380.00,CNY\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    "command",
    [
        ["journal", "list"],
        ["journal", "show", "pay_x"],
        ["journal", "verify"],
        ["reconcile", "--roster", "{roster}", "--out", "{tmp}/out"],
        ["notice", "--level", "village", "--roster", "{roster}", "--out", "{tmp}/out"],
    ],
)
def test_reading_commands_never_create_a_journal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    roster = _roster(tmp_path)
    args = [a.format(roster=roster, tmp=tmp_path) for a in command]
    typo = tmp_path / "jornal.db"
    code = main([*args, "--db", f"sqlite:///{typo}"])
    err = capsys.readouterr().err
    assert code != 0
    assert err.count("\n") == 1 and "no journal at" in err and "Traceback" not in err
    assert not typo.exists() and not (tmp_path / "out").exists()


def test_no_silent_default_journal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PAYCHANNELS_DB", raising=False)
    assert main(["journal", "list"]) != 0
    err = capsys.readouterr().err
    assert "--db" in err and "PAYCHANNELS_DB" in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_migrate_is_the_explicit_way_to_create(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/new.db"
    assert main(["journal", "migrate", "--db", url]) == 0
    assert "created a new journal" in capsys.readouterr().out
    assert main(["journal", "list", "--db", url]) == 0
    (tmp_path / "empty.db").write_bytes(b"")
    assert main(["journal", "migrate", "--db", f"sqlite:///{tmp_path}/empty.db"]) != 0
    assert "not a journal" in capsys.readouterr().err


def test_creators_racing_on_one_path_share_one_journal(journal_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def open_it(_: int) -> bool:
        journal = open_journal(journal_url, create=True)
        try:
            journal.check_schema()
            return journal.created
        finally:
            journal.close()

    with ThreadPoolExecutor(4) as pool:
        created = list(pool.map(open_it, range(4), timeout=60))
    assert created.count(True) == 1
