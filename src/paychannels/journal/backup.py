"""Backing up a running journal and restoring one where no journal is.

SQLite: the online backup API in one step (``Connection.backup`` with every page at once) —
one read transaction, so the copy is one consistent snapshot, and in WAL mode writers go on
meanwhile. Stepwise copying would restart on every commit of a busy writer; ``VACUUM INTO``
also reads one snapshot but rebuilds every index and does not sync its output; copying the
file (``cp``) under a writer misses what still sits in the ``-wal`` file or tears a page.
PostgreSQL: ``pg_dump`` (custom format, the journal's schema) and ``pg_restore``, which are
run, never reimplemented. A backup is written to a side file and renamed into place, a
restore linked into place: a path is either absent or complete.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote, unquote, urlsplit

from paychannels.journal import open_journal
from paychannels.journal.pgenviron import libpq_environment
from paychannels.journal.postgres import PostgresJournal
from paychannels.journal.schema import SCHEMA_VERSION
from paychannels.journal.sqlite import SqliteJournal
from paychannels.runtime.durable import fsync_path
from paychannels.security.masking import redact_url, scrub
from paychannels.values.errors import JournalError, JournalUnavailable, SchemaTooNew

__all__ = ["BackupReport", "backup", "restore"]

Method = Literal["sqlite-backup-api", "pg_dump", "sqlite-copy", "pg_restore"]


@dataclass(frozen=True, slots=True)
class BackupReport:
    """What a backup or restore did: where, how, and what the copy holds (None: not counted)."""

    journal: str
    file: Path
    method: Method
    schema_version: int | None
    records: int | None
    events: int | None


def backup(url: str, to: Path) -> BackupReport:
    """Copy the journal at ``url`` into ``to`` while it runs; the copy replaces ``to`` whole."""
    to = _target(Path(to))
    journal = open_journal(url)
    try:
        journal.check_schema()
        if isinstance(journal, SqliteJournal):
            return _sqlite_backup(journal, Path(to))
        if isinstance(journal, PostgresJournal):
            return _pg_dump(url, journal.schema_name(), journal.url, Path(to))
        raise JournalError(f"no backup method for journal {journal.url}")
    finally:
        journal.close()


def restore(source: Path, url: str) -> BackupReport:
    """Put the backup ``source`` where ``url`` points; refused where a journal already is."""
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        return _sqlite_restore(Path(source), url)
    if scheme in ("postgresql", "postgres"):
        return _pg_restore(Path(source), url)
    raise JournalError(f"no restore method for journal {redact_url(url, message=True)}")


# -- SQLite ----------------------------------------------------------------------------------


def _sqlite_backup(journal: SqliteJournal, to: Path) -> BackupReport:
    if journal.path is None:
        raise JournalError("an in-memory journal has no file to back up")
    live = journal.path.resolve()
    if to.resolve() in (live, Path(f"{live}-wal"), Path(f"{live}-shm")):
        raise JournalError(f"{to} is the journal itself: a backup goes into another file")
    side = _side(to)
    try:
        src = sqlite3.connect(f"file:{quote(str(live))}?mode=ro", uri=True, timeout=30)
        try:
            dst = sqlite3.connect(side)
            try:
                src.backup(dst)  # pages=-1: every page in one step, one snapshot
                dst.execute("PRAGMA journal_mode=DELETE")  # the copy is one file, no -wal
                version, records, events = _sqlite_contents(dst, side)
            finally:
                dst.close()
        finally:
            src.close()
        fsync_path(side)
        os.replace(side, to)
        fsync_path(to.parent)
    except sqlite3.Error as exc:
        raise JournalError(f"backup of {journal.url} into {to} failed: {exc}") from exc
    finally:
        side.unlink(missing_ok=True)
    return BackupReport(journal.url, to, "sqlite-backup-api", version, records, events)


def _sqlite_contents(conn: sqlite3.Connection, path: Path) -> tuple[int, int, int]:
    """Schema version, records and events of a SQLite journal file; refuses a damaged one."""
    problem = conn.execute("PRAGMA quick_check").fetchone()[0]
    if problem != "ok":
        raise JournalError(f"{path} fails SQLite's check: {problem}")
    try:
        row = conn.execute("SELECT value FROM pc_meta WHERE key = 'schema_version'").fetchone()
        records = conn.execute("SELECT count(*) FROM pc_payments").fetchone()[0]
        events = conn.execute("SELECT count(*) FROM pc_events").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise JournalError(f"{path} is not a journal backup ({exc})") from exc
    return (int(row[0]) if row else 0), int(records), int(events)


def _sqlite_restore(source: Path, url: str) -> BackupReport:
    target = _sqlite_path(url)
    for leftover in (target, Path(f"{target}-wal"), Path(f"{target}-shm")):
        if leftover.exists():
            raise JournalError(
                f"{leftover} exists: a restore goes only where no journal is; stop every "
                "process using it and move it (with its -wal and -shm files) aside first"
            )
    if not source.is_file():
        raise JournalUnavailable(f"no backup file at {source}")
    side = _side(target)
    try:
        shutil.copyfile(source, side)
        conn = sqlite3.connect(f"file:{quote(str(side))}?mode=ro", uri=True)
        try:
            version, records, events = _sqlite_contents(conn, source)
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"{source} is not a SQLite journal backup ({exc})") from exc
        finally:
            conn.close()
        _refuse_newer(version, source)
        fsync_path(side)
        try:
            os.link(side, target)  # fails if a journal appeared meanwhile: never overwrite
        except FileExistsError:
            raise JournalError(
                f"{target} appeared during the restore; nothing was changed"
            ) from None
        fsync_path(target.parent)
    finally:
        side.unlink(missing_ok=True)
    return BackupReport(redact_url(url), source, "sqlite-copy", version, records, events)


def _sqlite_path(url: str) -> Path:
    raw = unquote(urlsplit(url).path)[1:]
    if not raw or raw == ":memory:":
        raise JournalError(f"{redact_url(url, message=True)} names no journal file to restore into")
    return Path(raw)


# -- PostgreSQL -----------------------------------------------------------------------------


def _pg_dump(url: str, schema: str, shown: str, to: Path) -> BackupReport:
    side = _side(to)
    # public is the database's own schema: dumped whole, so a restore does not re-create it
    only = [] if schema == "public" else [f"--schema={schema}"]
    command = [_tool("pg_dump"), "--format=custom", f"--file={side}", *only]
    try:
        _run(command, f"pg_dump of {shown}", url)
        fsync_path(side)
        os.replace(side, to)
    finally:
        side.unlink(missing_ok=True)
    return BackupReport(shown, to, "pg_dump", SCHEMA_VERSION, None, None)


def _pg_restore(source: Path, url: str) -> BackupReport:
    if not source.is_file():
        raise JournalUnavailable(f"no backup file at {source}")
    try:
        existing = open_journal(url)
    except JournalUnavailable:
        existing = None  # no journal there (or no server: pg_restore will say which)
    if existing is not None:
        existing.close()
        raise JournalError(
            f"{existing.url} already holds a journal; restore into a new, empty database "
            "(createdb) and point the URL there"
        )
    command = [
        _tool("pg_restore"),
        "--no-owner",
        "--exit-on-error",
        "--single-transaction",  # all of it or nothing
        "--dbname=",  # the database named by PGDATABASE (pg_restore needs one, or prints SQL)
        str(source),
    ]
    _run(command, f"pg_restore into {redact_url(url)}", url)
    with open_journal(url) as journal:
        version = journal.schema_version()
    return BackupReport(redact_url(url), source, "pg_restore", version, None, None)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise JournalUnavailable(
            f"{name} is not on PATH: install PostgreSQL's client programs of the server's "
            "major version (e.g. the postgresql-client package) or add their bin folder to PATH"
        )
    return found


def _run(command: list[str], what: str, url: str) -> None:
    """Run a PostgreSQL program with the connection in its environment: argv is public."""
    with libpq_environment(url) as env:
        # the command is PostgreSQL's own program found on PATH; its arguments are ours
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        text = done.stderr.strip() or f"exit status {done.returncode}"
        password = urlsplit(url).password
        if password:
            text = text.replace(password, "***")
        raise JournalError(f"{what} failed: {scrub(text)}")


# -- files ----------------------------------------------------------------------------------


def _target(to: Path) -> Path:
    """The backup's file, checked before the journal is opened: a file name in a folder
    that exists (``--to ''`` is the current folder, not a file)."""
    if not to.name or to.is_dir():
        raise JournalError(
            f"backup target {str(to)!r} is a folder, not a file: name the copy's file"
        )
    if not to.parent.is_dir():
        raise JournalError(
            f"backup target {str(to)!r}: the folder {str(to.parent)!r} does not exist"
        )
    return to


def _side(path: Path) -> Path:
    if not path.parent.is_dir():
        raise JournalUnavailable(f"folder {path.parent} does not exist")
    return path.with_name(f".{path.name}.part-{uuid.uuid4().hex[:8]}")


def _refuse_newer(version: int, source: Path) -> None:
    if version > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"{source} is a journal at schema version {version}, written by a newer "
            f"paychannels (this one understands up to {SCHEMA_VERSION}); nothing was restored"
        )
