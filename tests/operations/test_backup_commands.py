"""``journal backup``, ``journal restore`` and ``journal verify`` at their edges.

A restore never lands on a journal or beside another database's ``-wal``; a file that is
not a journal backup is refused and nothing is left behind; a missing ``pg_dump`` is one
clear line; ``verify`` says the schema version and how many payments are in each state.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from paychannels import Collector, Money, PaymentRequest
from paychannels.channels.memory import MemoryChannel
from paychannels.cli.main import main


def paid_journal(url: str, n: int = 3) -> None:
    """A journal holding ``n`` payments, all SUCCEEDED."""
    with Collector.open(url, create=True) as col:
        col.add_channel("hall-1", MemoryChannel())
        for i in range(n):
            col.collect(
                PaymentRequest(
                    payer_id=f"15042219900101{i:04d}",
                    amount=Money.of_minor(38000, "CNY"),
                    reference="2026-养老",
                    idempotency_key=f"ops-{i}",
                ),
                "hall-1",
            )


def restore(backup: Path, db: str) -> int:
    """``paychannels journal restore`` of ``backup`` into ``db``; its exit status."""
    return main(["journal", "restore", "--from", str(backup), "--db", db])


def test_backup_then_restore_keeps_every_payment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live, copy = f"sqlite:///{tmp_path}/live.db", f"sqlite:///{tmp_path}/copy.db"
    paid_journal(live)
    assert main(["journal", "backup", "--db", live, "--to", str(tmp_path / "b.db")]) == 0
    said = capsys.readouterr().out
    assert "sqlite-backup-api" in said and "3 records" in said
    assert not (tmp_path / "b.db-wal").exists(), "a backup is one file"
    assert restore(tmp_path / "b.db", copy) == 0
    capsys.readouterr()
    assert main(["journal", "verify", "--db", copy, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["problems"] == {} and out["statuses"] == {"SUCCEEDED": 3}
    assert main(["journal", "verify", "--db", copy]) == 0
    assert "by status: 3 SUCCEEDED" in capsys.readouterr().out


def test_restore_refuses_a_place_where_a_journal_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live = f"sqlite:///{tmp_path}/live.db"
    paid_journal(live, 2)
    main(["journal", "backup", "--db", live, "--to", str(tmp_path / "b.db")])
    paid_journal(f"sqlite:///{tmp_path}/other.db", 1)
    before = (tmp_path / "other.db").read_bytes()
    code = restore(tmp_path / "b.db", f"sqlite:///{tmp_path}/other.db")
    assert code == 2
    assert "only where no journal is" in capsys.readouterr().err
    assert (tmp_path / "other.db").read_bytes() == before
    # a -wal left by another database would be replayed into the restored file
    (tmp_path / "fresh.db-wal").write_bytes(b"x")
    code = restore(tmp_path / "b.db", f"sqlite:///{tmp_path}/fresh.db")
    assert code == 2 and "fresh.db-wal exists" in capsys.readouterr().err
    assert not (tmp_path / "fresh.db").exists()


def test_backup_never_writes_over_the_journal_itself(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A copy renamed over the live file would leave the writers' -wal describing another
    database; and odd characters in the path (``?``, ``#``, ``%``) are a file name, not a URI."""
    folder = tmp_path / "a?b#c%41"
    folder.mkdir()
    live = f"sqlite:///{quote(str(folder))}/live.db"  # the URL spells the name encoded
    paid_journal(live, 1)
    before = (folder / "live.db").read_bytes()
    for target in ("live.db", "live.db-wal"):
        code = main(["journal", "backup", "--db", live, "--to", str(folder / target)])
        assert code == 2 and "is the journal itself" in capsys.readouterr().err
    assert (folder / "live.db").read_bytes() == before
    assert main(["journal", "backup", "--db", live, "--to", str(folder / "b.db")]) == 0
    assert "1 records" in capsys.readouterr().out


@pytest.mark.parametrize("target", ["", ".", "folder", "missing/b.db"])
def test_backup_into_a_folder_or_nowhere_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    """``--to ''`` (found by the public-surface fuzz: an internal error, exit 70), a folder or
    a path under a missing folder: one line naming what is wrong, nothing written."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    live = f"sqlite:///{tmp_path}/live.db"
    paid_journal(live, 1)
    before = sorted(p.name for p in tmp_path.iterdir())
    code = main(["journal", "backup", "--db", live, "--to", target])
    err = capsys.readouterr().err
    assert code == 2 and "backup target" in err and "internal error" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_restore_refuses_what_is_not_a_journal_backup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.txt").write_text("not a database\n" * 100)
    target = tmp_path / "journal.db"
    code = restore(tmp_path / "notes.txt", f"sqlite:///{target}")
    assert code == 2
    assert "not a SQLite journal backup" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.postgres
def test_backup_without_pg_dump_says_so(
    pg_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    paid_journal(pg_url, 1)
    monkeypatch.setenv("PATH", str(tmp_path))  # no PostgreSQL programs here
    assert main(["journal", "backup", "--db", pg_url, "--to", str(tmp_path / "j.dump")]) == 2
    err = capsys.readouterr().err
    assert "pg_dump is not on PATH" in err and "Traceback" not in err
    assert not list(tmp_path.iterdir())


@pytest.mark.postgres
def test_pg_dump_gets_the_password_from_the_environment_not_argv(
    pg_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Any user of the machine reads argv (``ps``); the password goes in ``PGPASSWORD``."""
    real = shutil.which("pg_dump")
    if real is None:
        pytest.skip("pg_dump is not on PATH (PostgreSQL's client programs)")
    paid_journal(pg_url, 2)
    tools = tmp_path / "bin"
    tools.mkdir()
    spy = tools / "pg_dump"  # the real program, behind a wrapper that notes what it got
    spy.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$@" > "{tmp_path}/argv"\n'
        f'printf "%s" "$PGPASSWORD" > "{tmp_path}/password"\nexec "{real}" "$@"\n'
    )
    spy.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}:/usr/bin:/bin")
    with_password = pg_url.replace("postgres@", "postgres:s3cr%40t@", 1)  # trust auth ignores it
    assert with_password != pg_url
    out = tmp_path / "j.dump"
    assert main(["journal", "backup", "--db", with_password, "--to", str(out)]) == 0
    assert "s3cr" not in capsys.readouterr().out
    assert "s3cr" not in (tmp_path / "argv").read_text()
    assert (tmp_path / "password").read_text() == "s3cr@t"
    assert out.stat().st_size > 0


def spied_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *names: str) -> Path:
    """The real PostgreSQL programs behind wrappers on PATH that note each argv, a line an arg."""
    tools = tmp_path / "bin"
    tools.mkdir()
    for name in names:
        real = shutil.which(name)
        if real is None:
            pytest.skip(f"{name} is not on PATH (PostgreSQL's client programs)")
        spy = tools / name
        spy.write_text(
            f'#!/bin/sh\nprintf "%s\\n" "$@" > "{tmp_path}/argv.{name}"\nexec "{real}" "$@"\n'
        )
        spy.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}:/usr/bin:/bin")
    return tmp_path


@pytest.mark.postgres
def test_pg_tools_get_the_whole_connection_from_the_environment_not_argv(
    pg_url: str,
    new_database: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every user of the machine reads argv (``ps``): host, port, user, database and options
    of a backup and a restore reach pg_dump and pg_restore through the environment only."""
    notes = spied_tools(tmp_path, monkeypatch, "pg_dump", "pg_restore")
    # keepalives_idle has no libpq variable (a service file); outcome_sync is ours, not libpq's
    live = f"{pg_url}&keepalives_idle=30&outcome_sync=full"
    paid_journal(live, 2)
    out = tmp_path / "j.dump"
    assert main(["journal", "backup", "--db", live, "--to", str(out)]) == 0
    restored = f"{new_database}?{urlsplit(live).query}"  # the dump keeps the schema's name
    assert restore(out, restored) == 0
    capsys.readouterr()
    assert main(["journal", "verify", "--db", restored, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["statuses"] == {"SUCCEEDED": 2}
    parts = urlsplit(restored)
    secrets = {
        "postgresql:",
        "search_path",
        "keepalives",
        f"{parts.hostname}",
        f"{parts.port}",
        parts.path.strip("/"),
        urlsplit(pg_url).path.strip("/") or "postgres",
        parts.username or "postgres",
    }
    for tool in ("pg_dump", "pg_restore"):
        argv = (notes / f"argv.{tool}").read_text()
        shown = [s for s in secrets if s and s in argv]
        assert shown == [], f"{tool} got connection data on its command line: {argv!r}"
