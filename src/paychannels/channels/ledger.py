"""The memory channel's idea of a device: what it did with each payment, and how often.

A real terminal charges a card every time it is asked to, so the ledger counts charges per
payment: a test that sees ``charges(id) == 2`` has caught a payment taken twice. The file
ledger (its own SQLite file, never the journal) outlives a killed backend process, which is
what the crash tests need: the device remembers what the backend forgot.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

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

    def entries(self) -> list[LedgerEntry]:
        with self._lock:
            return list(self._entries.values())


class FileLedger:
    """A ledger in its own SQLite file, shared by processes and surviving crashes."""

    _COLUMNS = "key, status, amount_minor, currency, ref, code, charges, refunded_minor"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        with self._conn() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS ledger (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                "key TEXT UNIQUE NOT NULL, status TEXT NOT NULL, amount_minor INTEGER NOT NULL,"
                " currency TEXT NOT NULL, ref TEXT NOT NULL, code TEXT NOT NULL, "
                "charges INTEGER NOT NULL, refunded_minor INTEGER NOT NULL)"
            )

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            self._local.conn = conn
        return conn

    def get(self, key: str) -> LedgerEntry | None:
        row = (
            self._conn()
            .execute(f"SELECT {self._COLUMNS} FROM ledger WHERE key = ?", (key,))
            .fetchone()
        )
        return None if row is None else LedgerEntry(*row)

    def record(self, entry: LedgerEntry) -> LedgerEntry:
        with self._conn() as conn:
            conn.execute(
                f"INSERT INTO ledger ({self._COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET status = excluded.status, "
                "amount_minor = excluded.amount_minor, ref = excluded.ref, "
                "code = excluded.code, charges = ledger.charges + excluded.charges, "
                "refunded_minor = ledger.refunded_minor + excluded.refunded_minor",
                (
                    entry.key,
                    entry.status,
                    entry.amount_minor,
                    entry.currency,
                    entry.ref,
                    entry.code,
                    entry.charges,
                    entry.refunded_minor,
                ),
            )
        stored = self.get(entry.key)
        assert stored is not None
        return stored

    def entries(self) -> list[LedgerEntry]:
        rows = self._conn().execute(f"SELECT {self._COLUMNS} FROM ledger ORDER BY seq").fetchall()
        return [LedgerEntry(*row) for row in rows]
