"""PostgreSQL journal: many backend processes and callback receivers on one database.

"One dispatcher per payment" comes from the database: every change runs under
``SELECT ... FOR UPDATE`` on the payment row, and event appends take a transaction-scoped
advisory lock so that event ``seq`` order equals commit order (tailing by ``seq`` never skips
an event committed late); the locks are the journal schema's own (``journal.pglocks``). A
synchronous answer under ``outcome_sync=lazy`` (the default) commits with ``SET LOCAL
synchronous_commit = off`` (see ``journal.durability``). Needs the ``postgres`` extra
(psycopg 3).

The write path is pipelined: a transaction's statements up to the pipeline's Sync are one
implicit transaction on the server (no BEGIN or COMMIT to send), and the event-order lock and
the lazy commit's switch ride in the events' insert (``journal.pgevents``) — every statement
sent costs the client a driver's worth of CPU, so ``collect()`` sends five, not thirteen
(with the answer's compare-and-set, ``SqlWrites.settle``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from paychannels.journal import pgevents, pglocks
from paychannels.journal.durability import OutcomeSync, outcome_sync_mode
from paychannels.journal.sql import Row, SqlJournal, Tx
from paychannels.security.masking import SHOWN_LIMIT, is_secret_name, redact_url, scrub, shown
from paychannels.values.errors import InvalidURL, JournalError, JournalUnavailable

if TYPE_CHECKING:
    import psycopg

__all__ = ["PostgresJournal"]

# a lock of this journal's schema, found in the statement (migrations: tables may not exist yet)
_SCHEMA_LOCK = f"SELECT pg_advisory_xact_lock(?, {pglocks.SCHEMA_KEY})"
_PLACEHOLDER = re.compile(r"\?")
_LAZY_COMMIT = "SET LOCAL synchronous_commit TO OFF"
_LAZY_ALONE = f"SELECT {pgevents.LAZY}"  # (SET LOCAL warns outside BEGIN, though it works)
# did this transaction write? (a transaction id is taken by its first change, row lock included)
_WROTE = "SELECT txid_current_if_assigned() IS NOT NULL AS wrote"
_CHANGES = ("INSERT", "UPDATE", "DELETE", "MERGE")  # command tags of a statement that wrote
_OWN_OPTIONS = {"outcome_sync"}
_QUOTED = re.compile(r'"([^"]{' + str(SHOWN_LIMIT + 1) + r',})"')


def mask_url(url: str) -> str:
    """The URL with its password (user information or ``?password=``) replaced by ``***``."""
    return redact_url(url)


def _hide(text: str, url: str) -> str:
    """A driver's error text without any value of the URL's secrets (libpq may quote them)."""
    parts = urlsplit(url)
    secrets = [v for k, v in parse_qsl(parts.query) if is_secret_name(k) and v]
    try:
        if parts.password:
            secrets.append(parts.password)
    except ValueError:
        pass
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***").replace(quote(secret, safe=""), "***")
    # libpq quotes a bad value whole ("invalid integer value "..." for option "port"")
    return scrub(_QUOTED.sub(lambda m: f'"{shown(m.group(1))}"', text))


def _own_options(url: str) -> tuple[str, Literal["lazy", "full"]]:
    """The URI without our own query options (libpq refuses them), and ``outcome_sync``."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    ours = {k: v for k, v in pairs if k in _OWN_OPTIONS}
    if not ours:
        return url, outcome_sync_mode(None, "")
    mode = outcome_sync_mode(ours.get("outcome_sync"), redact_url(url, message=True))
    rest = urlencode([(k, v) for k, v in pairs if k not in _OWN_OPTIONS], quote_via=quote)
    return urlunsplit(parts._replace(query=rest)), mode


class _PgTx:
    def __init__(
        self,
        conn: psycopg.Connection[Any],
        convert: dict[str, str],
        pipeline: psycopg.Pipeline | None = None,
    ) -> None:
        self._conn = conn
        self._convert = convert
        self._pipeline = pipeline
        #: a statement of this transaction changed a row (so it took a transaction id)
        self.changed = False
        #: pipelined under ``lazy``: the commit's switch is still to be sent (``take_lazy``)
        self._lazy_owed = False

    def _sql(self, sql: str) -> str:
        out = self._convert.get(sql)
        if out is None:
            out = _PLACEHOLDER.sub("%s", sql.replace("%", "%%"))
            self._convert[sql] = out
        return out

    def _exec(self, sql: str, params: Sequence[Any]) -> psycopg.Cursor[Any]:
        if params:
            return self._conn.execute(self._sql(sql), params)
        # Without parameters psycopg does not interpret placeholders or '%'.
        return self._conn.execute(sql.encode())

    def _settled(self, cursor: psycopg.Cursor[Any]) -> int:
        """The rows a statement changed (every result of it, answered; none is 0)."""
        count = 0
        for each in cursor.results() if self._pipeline is not None else (cursor,):
            count += max(each.rowcount, 0)
            if each.rowcount > 0 and (each.statusmessage or "").startswith(_CHANGES):
                self.changed = True
        return count

    def _answered(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        """Pipelined: run ``sql`` for each row and wait for its answers with a flush
        request, not a Sync (a Sync would end the implicit transaction: commit it)."""
        with self._conn.cursor() as cur:
            cur.executemany(self._sql(sql), rows, returning=True)
            return self._settled(cur)

    def owe_lazy(self) -> None:
        """This transaction commits without waiting for a flush; the switch goes out with
        the events' insert, or alone before the Sync (``finish``)."""
        self._lazy_owed = True

    def take_lazy(self) -> bool:
        """Whether the caller's statement must carry the lazy commit's switch (once)."""
        owed, self._lazy_owed = self._lazy_owed, False
        return owed

    def finish(self) -> None:
        """The last statements before the Sync: the lazy switch if nothing carried it."""
        if self.take_lazy():
            self.send(_LAZY_ALONE)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self._exec(sql, params).fetchall()

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: Row | None = self._exec(sql, params).fetchone()
        return row

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        if self._pipeline is not None:
            return self._answered(sql, [params])
        return self._settled(self._exec(sql, params))

    def send(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._exec(sql, params)

    def rows_after(self, sql: str, params: Sequence[Any] = ()) -> Callable[[], list[Row]]:
        return self._exec(sql, params).fetchall  # pipelined: read once the commit is answered

    def rows_each(self, queries: Sequence[tuple[str, Sequence[Any]]]) -> list[list[Row]]:
        cursors = [self._exec(sql, params) for sql, params in queries]
        return [cursor.fetchall() for cursor in cursors]

    def copy_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Bulk-load rows with COPY (several times faster than INSERT for staging)."""
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        with self._conn.cursor() as cur, cur.copy(statement.encode()) as copy:
            for row in rows:
                copy.write_row(row)

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        if self._pipeline is not None:
            return self._answered(sql, rows)
        if len(rows) == 1:
            return self.run(sql, rows[0])
        with self._conn.cursor() as cur:
            cur.executemany(self._sql(sql), rows)
            return self._settled(cur)  # psycopg 3.1+: the total over all rows


def _assumed() -> bool:
    """A commit not asked whether it wrote (none owed: the answer does not matter)."""
    return True


def _wrote_after(rows: Callable[[], list[Row]]) -> Callable[[], bool]:
    """Whether the transaction took an id (``_WROTE``'s answer), read when called."""

    def wrote() -> bool:
        found = rows()
        return bool(found and found[0]["wrote"])

    return wrote


@contextmanager
def _pipelined(conn: psycopg.Connection[Any]) -> Iterator[psycopg.Pipeline]:
    """A transaction in pipeline mode: the server runs the statements up to the pipeline's
    Sync as one implicit transaction, so no BEGIN and no COMMIT are sent.

    Leaving the pipeline sends the Sync and waits for its answer: when this returns, the
    commit is durable; when it raises, nothing was committed. A server error aborts the
    implicit transaction by itself; an error of ours (a refusal, a race, an interrupt)
    queues ROLLBACK before the Sync, which then commits nothing.
    """
    try:
        with conn.pipeline() as pipe:
            try:
                yield pipe
            except BaseException:
                _abort(conn)
                raise
    except BaseException:
        _rollback(conn)
        raise


def _abort(conn: psycopg.Connection[Any]) -> None:
    """Roll the pipeline's implicit transaction back before the Sync that would commit it."""
    import psycopg

    if conn.broken or conn.closed:
        return  # (nothing commits on a link that is gone)
    queued = False
    try:
        with suppress(psycopg.Error):  # the caller's error is the one that counts
            conn.execute(b"ROLLBACK")  # (outside BEGIN it warns, and aborts what ran so far)
            queued = True
    finally:
        if not queued:  # refused or interrupted: no Sync may follow on this link, drop it
            conn.close()  # (the server rolls back what a lost link held)


def _rollback(conn: psycopg.Connection[Any]) -> None:
    """End a transaction an error left open (a statement after an error skips COMMIT)."""
    import psycopg
    from psycopg.pq import TransactionStatus

    if conn.broken or conn.closed or conn.pgconn.transaction_status == TransactionStatus.IDLE:
        return  # (a broken link rolls back on the server when it closes)
    with suppress(psycopg.Error):  # the caller's error is the one that counts
        conn.execute(b"ROLLBACK")


class PostgresJournal(SqlJournal):
    """``postgresql://user@host:5432/dbname`` (any libpq URI; passwords via PGPASSWORD/.pgpass).

    Our own query option, taken out before libpq sees the URI: ``outcome_sync`` (lazy, full;
    default lazy: see ``journal.durability``).
    """

    dialect = "postgres"
    for_update = " FOR UPDATE"

    def __init__(self, url: str, *, connect_timeout: int = 10, create: bool = False) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres") or not parts.path.strip("/"):
            raise InvalidURL(
                f"{redact_url(url, message=True)} is not a PostgreSQL journal URL; expected "
                "postgresql://user@host:5432/dbname"
            )
        try:
            import psycopg  # noqa: F401 - checked here so the error is early and clear
        except ImportError as exc:
            raise JournalUnavailable(
                "PostgreSQL journals need psycopg 3: pip install 'paychannels[postgres]'"
            ) from exc
        conninfo, mode = _own_options(url)
        self.outcome_sync = OutcomeSync(mode, self._flush_log, max_age=None)
        self._conninfo = conninfo
        self.url = mask_url(url)  # our options kept: a process reopening it gets the same rule
        self._where = redact_url(conninfo, message=True)  # what errors show: no user, no secret
        self._connect_timeout = connect_timeout
        self._connections_init()
        self._convert: dict[str, str] = {}
        with self._connection():  # fail now, with a clear message, if it cannot be reached
            pass
        try:
            with self._transaction(write=False) as tx:
                found = self._is_journal(tx)
            if not found:
                if not create:
                    raise self._no_journal("no journal tables on the database's search path")
                before, _ = self.migrate()  # under the migration lock: one creator builds it
                self.created = before == 0
            with self._transaction(write=False) as tx:
                row = tx.one(f"SELECT {pglocks.SCHEMA_KEY} AS key")
            assert row is not None
            self._lock_key = int(row["key"])  # the schema's: read once, taken every append
        except BaseException:
            self.close()
            raise

    def schema_name(self) -> str:
        """The schema that holds the journal's tables (what a backup dumps)."""
        with self._transaction(write=False) as tx:
            row = tx.one(
                "SELECT n.nspname AS name FROM pg_catalog.pg_class c "
                "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relname = 'pc_payments' "
                "AND n.nspname = ANY (current_schemas(false)) "
                "ORDER BY array_position(current_schemas(false), n.nspname) LIMIT 1"
            )
        if row is None:
            raise self._no_journal("no journal tables on the database's search path")
        return str(row["name"])

    def _detail(self, exc: Exception, *, first_line: bool = False) -> str:
        """A driver error's text (or its first line) without our URL's secrets."""
        text = str(exc).strip()
        if not text:
            return type(exc).__name__
        return _hide(text.splitlines()[0] if first_line else text, self._conninfo)

    def _connect(self) -> psycopg.Connection[Any]:
        import psycopg
        from psycopg.rows import dict_row

        try:
            return psycopg.connect(
                self._conninfo,
                autocommit=True,
                row_factory=dict_row,
                connect_timeout=self._connect_timeout,
                application_name="paychannels",
            )
        except psycopg.Error as exc:
            raise JournalUnavailable(
                f"cannot reach PostgreSQL journal {self._where}: "
                f"{self._detail(exc, first_line=True)}"
                " — is the server running and the URL right?"
            ) from exc

    def _usable(self, conn: Any) -> bool:
        return not conn.closed and not conn.broken

    @contextmanager
    def _transaction(self, *, write: bool, pipeline: bool = False) -> Iterator[Tx]:
        import psycopg

        lazy = write and self.outcome_sync.lazy_now()
        # only a commit that took a transaction id writes a commit record and waits for the
        # WAL flush; asked only when that matters (a flushed commit owing a lazy answer) and
        # no statement's own count already said it changed a row
        ask = write and not lazy and self.outcome_sync.owed
        wrote: Callable[[], bool] = _assumed
        with self._connection() as conn:
            try:
                if pipeline and psycopg.Pipeline.is_supported():  # (libpq 14 and later)
                    with _pipelined(conn) as pipe:
                        tx = _PgTx(conn, self._convert, pipe)
                        if lazy:  # this transaction only: its commit does not wait for a flush
                            tx.owe_lazy()
                        yield tx
                        tx.finish()
                        if ask and not tx.changed:  # sent with the Sync, read once answered
                            wrote = _wrote_after(tx.rows_after(_WROTE))
                else:
                    with conn.transaction():
                        tx = _PgTx(conn, self._convert)
                        if lazy:
                            tx.send(_LAZY_COMMIT)
                        yield tx
                        if ask and not tx.changed:
                            wrote = _wrote_after(tx.rows_after(_WROTE))
            except psycopg.OperationalError as exc:
                raise JournalUnavailable(
                    f"lost the PostgreSQL journal {self._where} during a transaction: "
                    f"{self._detail(exc)}; the change may or may not be committed — read the "
                    "payment again"
                ) from exc
            except psycopg.Error as exc:
                raise JournalError(f"journal {self._where}: {self._detail(exc)}") from exc
        if write:
            self.outcome_sync.committed(lazy=lazy, flushed=not lazy and wrote())

    def _flush_log(self) -> None:
        """A synchronous commit that writes a commit record (it takes a transaction id):
        it waits for the WAL to be flushed up to it, lazy answers before it included."""
        with self._transaction(write=True) as tx:
            tx.one("SELECT txid_current()")

    def _stream(
        self, sql: str, params: Sequence[Any], page: int
    ) -> Iterator[list[tuple[Any, ...]]]:
        import psycopg
        from psycopg.rows import tuple_row

        text = _PLACEHOLDER.sub("%s", sql.replace("%", "%%")) if params else sql
        with self._connection() as conn:
            try:
                with conn.transaction():
                    # one snapshot for the whole read, streamed by a server-side cursor
                    conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    with conn.cursor(name="pc_scan", row_factory=tuple_row) as cursor:
                        cursor.itersize = page
                        cursor.execute(text, params or None)
                        while rows := cursor.fetchmany(page):
                            yield rows
            except psycopg.OperationalError as exc:
                raise JournalUnavailable(
                    f"lost the PostgreSQL journal {self._where}: {self._detail(exc)}"
                ) from exc
            except psycopg.Error as exc:
                raise JournalError(f"journal {self._where}: {self._detail(exc)}") from exc

    def _json_text(self, column: str, key: str) -> str:
        if "." in key:
            return f"({column}::json #>> '{{{key.replace('.', ',')}}}')"
        return f"({column}::json ->> '{key}')"

    def _json_object(self, pairs: str) -> str:
        return f"json_build_object({pairs})::text"

    def _read_snapshot(self, tx: Tx) -> None:
        tx.run("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")

    def _few_events(self, tx: Tx, sql: str, params: Sequence[Any]) -> Callable[[], list[Row]]:
        # one statement: the event-order lock (and the lazy switch) run before its rows
        assert isinstance(tx, _PgTx)
        lazy = tx.take_lazy()
        return tx.rows_after(
            pgevents.locked_insert(sql, lazy=lazy), (pglocks.EVENT_ORDER, self._lock_key, *params)
        )

    def _before_events(self, tx: Tx) -> None:
        # sent with the events' insert: the lock is granted before the server runs it
        tx.send("SELECT pg_advisory_xact_lock(?, ?)", (pglocks.EVENT_ORDER, self._lock_key))

    def _stage_insert(
        self, tx: Tx, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        assert isinstance(tx, _PgTx)
        tx.copy_rows(table, columns, rows)

    def _after_stage(self, tx: Tx, table: str) -> None:
        tx.run(f"ANALYZE {table}")

    def _before_migrate(self, tx: Tx) -> None:
        tx.one(_SCHEMA_LOCK, (pglocks.MIGRATION,))

    def _before_feeds(self, tx: Tx) -> None:
        tx.one("SELECT pg_advisory_xact_lock(?, ?)", (pglocks.FEED, self._lock_key))

    def _is_obligation_violation(self, exc: BaseException) -> bool:
        import psycopg

        cause = exc.__cause__
        return isinstance(cause, psycopg.errors.UniqueViolation) and cause.diag.constraint_name in (
            "pc_payments_open_obligation",
            "pc_payments_live_obligation",
            # a partitioned journal's ids and keys across partitions (journal.partitioning)
            "pc_payment_keys_pkey",
            "pc_payment_keys_idempotency_key",
        )

    def _table_exists(self, tx: Tx, name: str) -> bool:
        # A catalog scan, not to_regclass(): that can answer from a cache that has not yet
        # seen a table another session just committed (two creators racing would both
        # migrate, and the second fail on "already exists").
        row = tx.one(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
            "ON n.oid = c.relnamespace WHERE c.relname = ? "
            "AND n.nspname = ANY (current_schemas(false))) AS present",
            (name,),
        )
        return bool(row and row["present"])

    def _ts_in(self, value: datetime) -> datetime:
        return value

    def _ts_out(self, value: Any) -> datetime:
        assert isinstance(value, datetime)
        return value
