"""SQLite journal: the embedded default for a hall PC or a field laptop.

WAL mode with ``synchronous=FULL`` (a committed payment survives power loss; a synchronous
answer under ``outcome_sync=lazy`` commits without a flush and reaches the disk with the next
flushed commit, see ``journal.durability``), one connection
per thread, ``BEGIN IMMEDIATE`` for every write so writers in several processes on one
machine serialise on the database lock instead of failing half-way.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from paychannels.journal.durability import OutcomeSync, outcome_sync_mode
from paychannels.journal.logsync import LogSync
from paychannels.journal.sql import Row, SqlJournal, Tx
from paychannels.security.masking import redact_url, shown
from paychannels.values.errors import InvalidURL, JournalError, JournalUnavailable

__all__ = ["SqliteJournal"]

log = logging.getLogger("paychannels.journal")

_SYNC_MODES = {"off", "normal", "full", "extra"}
_FLUSHING = {"full", "extra"}  # the modes whose every commit fsyncs the write-ahead log
#: the setting every connection runs; ``full`` is kept by ``_transaction`` flushing the log
#: itself after each write that must be durable, so a lazy answer needs no switch and back
_CONNECTION_SYNC = {"off": "OFF", "normal": "NORMAL", "full": "NORMAL", "extra": "EXTRA"}
_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # fixed width, so text order is time order
_SPILL = "pc_spill"  # the scratch database a connection stages whole reports in


def _attach_spill(conn: sqlite3.Connection) -> None:
    """A scratch database on disk, attached and unlinked at once: the connection keeps it
    open, and nothing is left behind when it closes (nor by a crash). Its rollback journal
    is in memory: a transaction changes at most one apply chunk of it."""
    fd, name = tempfile.mkstemp(prefix="paychannels-spill-", suffix=".db")
    os.close(fd)
    try:
        conn.execute(f"ATTACH DATABASE ? AS {_SPILL}", (name,))
        conn.execute(f"PRAGMA {_SPILL}.journal_mode=MEMORY")
        conn.execute(f"PRAGMA {_SPILL}.synchronous=OFF")
    finally:
        os.unlink(name)


#: SQLite's own flush of the log (its data and its size, not its times)
_datasync = getattr(os, "fdatasync", os.fsync)


def _uri(path: Path, mode: str) -> str:
    """A SQLite URI for a file: ``ro``/``rw`` never create it, ``rwc`` may."""
    return f"file:{quote(str(path))}?mode={mode}"


class _SqliteTx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self._conn.execute(sql, params).fetchall()

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: Row | None = self._conn.execute(sql, params).fetchone()
        return row

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._conn.execute(sql, params).rowcount

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        if len(rows) == 1:
            return self._conn.execute(sql, rows[0]).rowcount
        return self._conn.executemany(sql, rows).rowcount

    def send(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._conn.execute(sql, params)

    def rows_after(self, sql: str, params: Sequence[Any] = ()) -> Callable[[], list[Row]]:
        rows = self._conn.execute(sql, params).fetchall()
        return lambda: rows

    def rows_each(self, queries: Sequence[tuple[str, Sequence[Any]]]) -> list[list[Row]]:
        return [self._conn.execute(sql, params).fetchall() for sql, params in queries]


class SqliteJournal(SqlJournal):
    """``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` or ``sqlite:///:memory:``.

    Query options: ``synchronous`` (full, normal, extra; default full), ``outcome_sync``
    (lazy, full; default lazy: see ``journal.durability``) and ``busy_timeout`` (seconds to
    wait for another writer, default 30). A file is opened only if it holds a
    journal (``mode=rw``: opening never creates a file); ``create=True`` builds a new journal
    where no file is, whole in a side file linked into place, so a path is either absent or
    a complete journal — never an empty file a second process could mistake for one.
    """

    dialect = "sqlite"

    def __init__(self, url: str, *, create: bool = False) -> None:
        parts = urlsplit(url)
        where = redact_url(url, message=True)  # what errors show: no secret, no long value
        if parts.scheme != "sqlite" or parts.netloc:
            raise InvalidURL(
                f"{where} is not a SQLite journal URL; expected sqlite:///relative.db, "
                "sqlite:////absolute/path.db or sqlite:///:memory:"
            )
        raw_path = unquote(parts.path)[1:]  # strip the slash that follows the empty host
        options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        unknown = set(options) - {"synchronous", "busy_timeout", "outcome_sync"}
        if unknown:
            raise InvalidURL(f"{where}: unknown option(s) {', '.join(map(shown, sorted(unknown)))}")
        self.synchronous = options.get("synchronous", "full").lower()
        if self.synchronous not in _SYNC_MODES:
            raise InvalidURL(f"{where}: synchronous must be one of {sorted(_SYNC_MODES)}")
        try:
            self.busy_timeout = float(options.get("busy_timeout", "30"))
        except ValueError:
            raise InvalidURL(f"{where}: busy_timeout must be a number of seconds") from None
        if not raw_path:
            raise InvalidURL(f"{where} names no database file (e.g. sqlite:///paychannels.db)")
        self.url = redact_url(url)
        self._memory = raw_path == ":memory:"
        if self._memory:
            self._target = f"file:paychannels-{uuid.uuid4().hex}?mode=memory&cache=shared"
        else:
            path = Path(raw_path)
            if not path.parent.exists():
                raise JournalUnavailable(
                    f"cannot open journal {url}: folder {path.parent} does not exist"
                )
            self._target = _uri(path, "rw")
        self.path = None if self._memory else Path(raw_path)
        self._file = self.path  # the file connections open (a side file while building)
        mode = outcome_sync_mode(options.get("outcome_sync"), where)
        self.outcome_sync = OutcomeSync(mode, None if self._memory else self._flush_log)
        flushing = not self._memory and self.synchronous in _FLUSHING
        self.log_sync = LogSync(self._flush_committed if flushing else None)
        self._last_ts: tuple[datetime | None, str] = (None, "")
        self._connections_init()
        if self._memory and not create:
            raise self._no_journal("an in-memory database starts empty")
        if self._memory:  # the in-memory database lives as long as one connection to it
            self._keep(self._connect())
            self.migrate()
            self.created = True
        elif self.path is not None:
            self._open_file(self.path, create=create)

    # -- finding the journal ----------------------------------------------------------------

    def _open_file(self, path: Path, *, create: bool) -> None:
        """Check that ``path`` holds a journal (or build one there if asked and none is)."""
        if not path.exists():
            if not create:
                raise self._no_journal(f"{path} does not exist")
            self._build(path)
        if path.stat().st_size == 0:
            raise JournalUnavailable(
                f"{self.url} is not a journal: {path} is an empty file (emptied or truncated?); "
                "restore the journal from a backup — a new journal is only made where no file is"
            )
        # Look before the first real connection: that one switches the file to WAL mode.
        try:
            probe = sqlite3.connect(_uri(path, "ro"), uri=True, timeout=self.busy_timeout)
            try:
                probe.row_factory = sqlite3.Row
                found = self._is_journal(_SqliteTx(probe))
            finally:
                probe.close()
        except sqlite3.DatabaseError as exc:
            raise JournalUnavailable(
                f"{self.url} is not a journal: {path} is not a SQLite database ({exc})"
            ) from exc
        if not found:
            raise JournalUnavailable(
                f"{self.url} is not a journal: {path} is a SQLite database without the "
                "journal's tables; give the journal's own file"
            )

    def _build(self, path: Path) -> None:
        """Migrate a new journal in a side file, then link it into place unless one came."""
        side = path.with_name(f".{path.name}.new-{uuid.uuid4().hex[:8]}")
        target = self._target
        self._target, self._file = _uri(side, "rwc"), side
        try:
            self.migrate()
            self._drop_connections()  # the last connection checkpoints the WAL into the file
            try:
                os.link(side, path)
                self.created = True
            except FileExistsError:
                pass  # another process created it meanwhile: open that one
            except OSError as exc:
                raise JournalUnavailable(f"cannot create journal {self.url}: {exc}") from exc
        finally:
            self._drop_connections()
            self._target, self._file = target, path
            for leftover in (side, Path(f"{side}-wal"), Path(f"{side}-shm")):
                leftover.unlink(missing_ok=True)

    # -- connections ------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self._target,
                isolation_level=None,
                timeout=self.busy_timeout,
                uri=True,
                check_same_thread=False,
            )
            conn.row_factory = sqlite3.Row
            if not self._memory:
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={_CONNECTION_SYNC[self.synchronous]}")
            conn.execute("PRAGMA foreign_keys=ON")
            # the bulk paths' TEMP stages (a chunk of at most 5,000 rows) and their sorts in
            # memory: in a temp file they were written out, a third of a bank build's bytes
            conn.execute("PRAGMA temp_store=MEMORY")
        except sqlite3.Error as exc:
            raise JournalUnavailable(f"cannot open journal {self.url}: {exc}") from exc
        return conn

    @contextmanager
    def one_flush(self) -> Iterator[None]:
        with self.log_sync.deferring():
            yield
        self.log_sync.sync()

    @contextmanager
    def _transaction(self, *, write: bool, pipeline: bool = False) -> Iterator[Tx]:
        # (``pipeline`` is moot in process: no round trips to save)
        deferred = write and self.log_sync.active  # flushed by ``one_flush``'s end
        lazy = write and not deferred and self.outcome_sync.lazy_now()
        # ``extra`` is the one mode a connection runs as set: a commit without a flush of its
        # own switches it off and back; under ``full`` the journal flushes the log itself
        switch = (lazy or deferred) and self.synchronous == "extra"
        with self._connection() as conn:
            changes = conn.total_changes
            # BEGIN and COMMIT inside the one try: an exception arriving anywhere (a
            # KeyboardInterrupt in a program's main thread) never leaves the write lock held
            try:
                if switch:  # this transaction's commit only: no fsync of its own
                    conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                yield _SqliteTx(conn)
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback(conn)
                raise self._translate(exc) from exc
            except BaseException:
                self._rollback(conn)
                raise
            finally:
                if switch:
                    conn.execute("PRAGMA synchronous=EXTRA")
            flushed_here = not lazy and not deferred and self.synchronous == "full"
            if write and flushed_here and self._file is not None:
                # what synchronous=FULL did at COMMIT, before the caller goes on (an intent's
                # first byte to a terminal): the write-ahead log on the disk
                self._flush_committed()
            if write:
                wrote = conn.total_changes != changes
                if deferred and wrote:
                    self.log_sync.committed()
                self.outcome_sync.committed(
                    lazy=lazy and wrote,
                    flushed=wrote and not deferred and self.synchronous in _FLUSHING,
                )

    def _spill(self) -> dict[str, str]:
        # TEMP tables are in memory here (temp_store=MEMORY, for the bounded stages): a stage
        # of a whole result file (millions of rows) goes to this thread's scratch file
        with self._connection() as conn:
            if not any(row[1] == _SPILL for row in conn.execute("PRAGMA database_list")):
                _attach_spill(conn)
        return {"temp": "", "spill": f"{_SPILL}."}

    def _unspill(self, tables: Sequence[str]) -> None:
        # the scratch file is let go whole (closed, so its space is freed): dropping the
        # tables would journal every page of them, in memory
        del tables
        with self._connection() as conn:
            if any(row[1] == _SPILL for row in conn.execute("PRAGMA database_list")):
                conn.execute(f"DETACH DATABASE {_SPILL}")

    def _flush_log(self) -> None:
        """fsync the write-ahead log: every commit so far, lazy ones too, is then durable."""
        wal = Path(f"{self._file}-wal")
        try:
            fd = os.open(wal, os.O_RDWR)
        except FileNotFoundError:
            return  # no log: the last connection checkpointed it into the (synced) file
        try:
            _datasync(fd)
        finally:
            os.close(fd)

    def _flush_committed(self) -> None:
        """``_flush_log`` after a commit that must be durable; a failure is the journal's
        (the commit may not be on the disk: the caller must not act on it)."""
        try:
            self._flush_log()
        except OSError as exc:
            raise JournalUnavailable(
                f"journal {self.url}: the write-ahead log could not be flushed ({exc})"
            ) from exc

    def _read_one(self, sql: str, params: Sequence[Any]) -> Row | None:
        # a lone SELECT in autocommit mode is its own read transaction: BEGIN and COMMIT
        # around it were two more statements on every terminal-book read
        with self._connection() as conn:
            try:
                row: Row | None = conn.execute(sql, params).fetchone()
            except sqlite3.Error as exc:
                raise self._translate(exc) from exc
        return row

    def _rollback(self, conn: sqlite3.Connection) -> None:
        """Roll back if a transaction is open; a failed rollback must not hide the cause."""
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error as exc:
                log.warning("rollback on %s failed: %s", self.url, exc)

    def _stream(
        self, sql: str, params: Sequence[Any], page: int
    ) -> Iterator[list[tuple[Any, ...]]]:
        # One deferred read transaction: in WAL mode it sees one snapshot while writers go on.
        with self._connection() as conn:
            try:
                conn.execute("BEGIN")
                cursor = conn.cursor()
                cursor.row_factory = None  # plain tuples: a third of the cost of sqlite3.Row
                cursor.execute(sql, params)
                while rows := cursor.fetchmany(page):
                    yield rows
            except sqlite3.Error as exc:
                raise self._translate(exc) from exc
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")

    def _json_text(self, column: str, key: str) -> str:
        return f"json_extract({column}, '$.{key}')"

    def _json_object(self, pairs: str) -> str:
        return f"json_object({pairs})"

    def _translate(self, exc: sqlite3.Error) -> JournalError:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return JournalUnavailable(
                f"journal {self.url} stayed locked by another writer for "
                f"{self.busy_timeout:g}s ({text})"
            )
        if isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError) and (
            "unable to open" in text or "not a database" in text or "disk" in text
        ):
            return JournalUnavailable(f"cannot use journal {self.url}: {text}")
        return JournalError(f"journal {self.url}: {text}")

    def _is_obligation_violation(self, exc: BaseException) -> bool:
        cause = exc.__cause__
        return isinstance(cause, sqlite3.IntegrityError) and "payer_id" in str(cause)

    def _table_exists(self, tx: Tx, name: str) -> bool:
        return (
            tx.one("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
            is not None
        )

    def _ts_in(self, value: datetime) -> str:
        cached = self._last_ts
        if cached[0] == value:  # bulk writes convert the same "now" thousands of times
            return cached[1]
        text = value.astimezone(UTC).strftime(_TS_FORMAT)
        self._last_ts = (value, text)
        return text

    def _ts_out(self, value: Any) -> datetime:
        return datetime.fromisoformat(value)  # the fixed format above, with 'Z' for UTC
