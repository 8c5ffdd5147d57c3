"""PostgreSQL journal: many backend processes and callback receivers on one database.

"One dispatcher per payment" comes from the database: every change runs under
``SELECT ... FOR UPDATE`` on the payment row, and event appends take a transaction-scoped
advisory lock so that event ``seq`` order equals commit order (tailing by ``seq`` never skips
an event committed late). Needs the ``postgres`` extra (psycopg 3).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from paychannels.errors import InvalidURL, JournalError, JournalUnavailable
from paychannels.journal.sql import Row, SqlJournal, Tx

if TYPE_CHECKING:
    import psycopg

__all__ = ["PostgresJournal"]

_EVENT_ORDER_LOCK = 0x7063_6576  # "pcev": serialises event appends across sessions
_MIGRATION_LOCK = 0x7063_6D67  # "pcmg"
_PLACEHOLDER = re.compile(r"\?")


def mask_url(url: str) -> str:
    """The URL with any password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username or ''}:***@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


class _PgTx:
    def __init__(self, conn: psycopg.Connection[Any], convert: dict[str, str]) -> None:
        self._conn = conn
        self._convert = convert

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

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self._exec(sql, params).fetchall()

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: Row | None = self._exec(sql, params).fetchone()
        return row

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._exec(sql, params).rowcount

    def copy_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Bulk-load rows with COPY (several times faster than INSERT for staging)."""
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        with self._conn.cursor() as cur, cur.copy(statement.encode()) as copy:
            for row in rows:
                copy.write_row(row)

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        if len(rows) == 1:
            return self._exec(sql, rows[0]).rowcount
        with self._conn.cursor() as cur:
            cur.executemany(self._sql(sql), rows)
            return cur.rowcount  # psycopg 3.1+: the total over all rows


class PostgresJournal(SqlJournal):
    """``postgresql://user@host:5432/dbname`` (any libpq URI; passwords via PGPASSWORD/.pgpass)."""

    dialect = "postgres"
    for_update = " FOR UPDATE"

    def __init__(self, url: str, *, connect_timeout: int = 10) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres") or not parts.path.strip("/"):
            raise InvalidURL(
                f"{mask_url(url)!r} is not a PostgreSQL journal URL; expected "
                "postgresql://user@host:5432/dbname"
            )
        try:
            import psycopg  # noqa: F401 - checked here so the error is early and clear
        except ImportError as exc:
            raise JournalUnavailable(
                "PostgreSQL journals need psycopg 3: pip install 'paychannels[postgres]'"
            ) from exc
        self._conninfo = url
        self.url = mask_url(url)
        self._connect_timeout = connect_timeout
        self._connections_init()
        self._convert: dict[str, str] = {}
        with self._connection():  # fail now, with a clear message, if it cannot be reached
            pass

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
                f"cannot reach PostgreSQL journal {self.url}: "
                f"{str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}"
                " — is the server running and the URL right?"
            ) from exc

    def _usable(self, conn: Any) -> bool:
        return not conn.closed and not conn.broken

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Tx]:
        import psycopg

        with self._connection() as conn:
            try:
                with conn.transaction():
                    yield _PgTx(conn, self._convert)
            except psycopg.OperationalError as exc:
                raise JournalUnavailable(
                    f"lost the PostgreSQL journal {self.url} during a transaction: {exc}; the "
                    "change may or may not be committed — read the payment again"
                ) from exc
            except psycopg.Error as exc:
                raise JournalError(f"journal {self.url}: {exc}") from exc

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
                raise JournalUnavailable(f"lost the PostgreSQL journal {self.url}: {exc}") from exc
            except psycopg.Error as exc:
                raise JournalError(f"journal {self.url}: {exc}") from exc

    def _json_text(self, column: str, key: str) -> str:
        return f"({column}::json ->> '{key}')"

    def _before_events(self, tx: Tx) -> None:
        tx.one("SELECT pg_advisory_xact_lock(?)", (_EVENT_ORDER_LOCK,))

    def _stage_insert(
        self, tx: Tx, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        assert isinstance(tx, _PgTx)
        tx.copy_rows(table, columns, rows)

    def _after_stage(self, tx: Tx, table: str) -> None:
        tx.run(f"ANALYZE {table}")

    def _before_migrate(self, tx: Tx) -> None:
        tx.one("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))

    def _is_obligation_violation(self, exc: BaseException) -> bool:
        import psycopg

        cause = exc.__cause__
        return (
            isinstance(cause, psycopg.errors.UniqueViolation)
            and cause.diag.constraint_name == "pc_payments_open_obligation"
        )

    def _table_exists(self, tx: Tx, name: str) -> bool:
        row = tx.one("SELECT to_regclass(?) IS NOT NULL AS present", (name,))
        return bool(row and row["present"])

    def _ts_in(self, value: datetime) -> datetime:
        return value

    def _ts_out(self, value: Any) -> datetime:
        assert isinstance(value, datetime)
        return value
