"""The memory channel's idea of a device: what it did with each payment, and how often.

A real terminal charges a card every time it is asked to, so the ledger counts charges per
payment: a test that sees ``charges(id) == 2`` has caught a payment taken twice. The file
ledger (its own SQLite file, never the journal) outlives a killed backend process, which is
what the crash tests need: the device remembers what the backend forgot.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import astuple, dataclass, replace
from pathlib import Path
from typing import Protocol

from paychannels.values.errors import ChannelError, ConfigurationError

__all__ = ["FileLedger", "InMemoryLedger", "Ledger", "LedgerEntry"]


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """What the device holds for one payment or refund id."""

    key: str
    status: str  # SUCCEEDED, DECLINED, PENDING, REVERSED, CLOSED
    amount_minor: int
    currency: str
    ref: str
    code: str = ""
    charges: int = 0
    refunded_minor: int = 0


class Ledger(Protocol):
    """Storage of ledger entries; implementations are safe across threads."""

    def get(self, key: str) -> LedgerEntry | None:
        """The entry for a payment or refund id."""
        ...

    def record(self, entry: LedgerEntry) -> LedgerEntry:
        """Store what the device did; ``charges`` and ``refunded_minor`` are *added* atomically.

        Returns the entry as stored, so a device that is asked twice counts two charges even
        when two processes ask at once.
        """
        ...

    def refund(self, payment_key: str, entry: LedgerEntry) -> LedgerEntry | None:
        """Give ``entry.amount_minor`` back on a SUCCEEDED payment and store the refund's own
        entry, in ONE transaction: a device killed half-way must not have given the money
        back without a record of the refund (recovery would find none and send it again).

        None, and nothing written, when the payment is not SUCCEEDED on the device.
        """
        ...

    def entries(self) -> list[LedgerEntry]:
        """Every entry, in insertion order."""
        ...


class InMemoryLedger:
    """A ledger that lives as long as the channel object."""

    def __init__(self) -> None:
        self._entries: dict[str, LedgerEntry] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> LedgerEntry | None:
        with self._lock:
            return self._entries.get(key)

    def record(self, entry: LedgerEntry) -> LedgerEntry:
        with self._lock:
            old = self._entries.get(entry.key)
            if old is not None:
                entry = replace(
                    entry,
                    charges=old.charges + entry.charges,
                    refunded_minor=old.refunded_minor + entry.refunded_minor,
                )
            self._entries[entry.key] = entry
            return entry

    def refund(self, payment_key: str, entry: LedgerEntry) -> LedgerEntry | None:
        with self._lock:
            original = self._entries.get(payment_key)
            if original is None or original.status != "SUCCEEDED":
                return None
            back = original.refunded_minor + entry.amount_minor
            self._entries[payment_key] = replace(original, refunded_minor=back)
            old = self._entries.get(entry.key)
            if old is not None:
                entry = replace(entry, charges=old.charges + entry.charges)
            self._entries[entry.key] = entry
            return entry

    def entries(self) -> list[LedgerEntry]:
        with self._lock:
            return list(self._entries.values())


class FileLedger:
    """A ledger in its own SQLite file, shared by processes and surviving crashes."""

    _COLUMNS = "key, status, amount_minor, currency, ref, code, charges, refunded_minor"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        try:
            self._conn().execute(
                "CREATE TABLE IF NOT EXISTS ledger (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                "key TEXT UNIQUE NOT NULL, status TEXT NOT NULL, amount_minor INTEGER NOT NULL,"
                " currency TEXT NOT NULL, ref TEXT NOT NULL, code TEXT NOT NULL, "
                "charges INTEGER NOT NULL, refunded_minor INTEGER NOT NULL)"
            )
        except (sqlite3.Error, OSError, ValueError) as exc:
            # a path that is a folder, in a missing folder, not a SQLite file, holds a NUL…
            raise ConfigurationError(
                f"memory ledger {str(self.path)[:200]!r} cannot be opened: {exc}"
            ) from None

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            self._local.conn = conn
        return conn

    def _read(self, sql: str, params: tuple[str, ...] = ()) -> list[tuple[object, ...]]:
        try:
            return self._conn().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise _ledger_error(self.path, exc) from None

    def get(self, key: str) -> LedgerEntry | None:
        rows = self._read(f"SELECT {self._COLUMNS} FROM ledger WHERE key = ?", (key,))
        return LedgerEntry(*rows[0]) if rows else None  # type: ignore[arg-type]

    _UPSERT = (
        f"INSERT INTO ledger ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (key) DO UPDATE SET status = excluded.status, "
        "amount_minor = excluded.amount_minor, ref = excluded.ref, "
        "code = excluded.code, charges = ledger.charges + excluded.charges, "
        "refunded_minor = ledger.refunded_minor + excluded.refunded_minor"
    )

    def record(self, entry: LedgerEntry) -> LedgerEntry:
        with self._transaction() as conn:
            conn.execute(self._UPSERT, _values(entry))
        stored = self.get(entry.key)
        assert stored is not None
        return stored

    def refund(self, payment_key: str, entry: LedgerEntry) -> LedgerEntry | None:
        with self._transaction() as conn:
            gave = conn.execute(
                "UPDATE ledger SET refunded_minor = refunded_minor + ? "
                "WHERE key = ? AND status = 'SUCCEEDED'",
                (entry.amount_minor, payment_key),
            )
            if gave.rowcount != 1:
                return None
            conn.execute(self._UPSERT, _values(entry))
        return self.get(entry.key)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (``BEGIN IMMEDIATE``), committed or undone."""
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            _rollback(conn)
            raise _ledger_error(self.path, exc) from None
        except BaseException:
            _rollback(conn)
            raise

    def entries(self) -> list[LedgerEntry]:
        rows = self._read(f"SELECT {self._COLUMNS} FROM ledger ORDER BY seq")
        return [LedgerEntry(*row) for row in rows]  # type: ignore[arg-type]


def _values(entry: LedgerEntry) -> tuple[str | int, ...]:
    return astuple(entry)


def _ledger_error(path: Path, exc: sqlite3.Error) -> ChannelError:
    """The device's own storage failed: a channel error naming the ledger, never sqlite3's."""
    return ChannelError(f"memory ledger {path.name}: {exc}")


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")
