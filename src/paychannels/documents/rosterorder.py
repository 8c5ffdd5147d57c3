"""A roster's entries in the journal's index order (payer, reference), whatever the file's.

A county's roster comes by village, its payers scattered over the journal's payer indexes.
Journaled chunk by chunk in that order, every chunk's commit rewrote nearly every page of
those indexes (and the WAL wrote each page again at the checkpoint): the bytes written grew
with the square of the roster (issue 16: 12.9 GB for 300,000 debits). In index order each
chunk only adds to the end of them. The entries are sorted on disk, so memory stays flat
however long the roster, in SQLite's private temporary database (``connect("")``): SQLite
unlinks its file as soon as it opens it, so the payers' ID and account numbers it holds are
gone with the process, however it ends (a SIGKILL leaves nothing in the temp folder).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import date
from types import TracebackType
from typing import Any

from paychannels.documents.roster import NO_EXTRA, RosterEntry
from paychannels.values.money import Money

__all__ = ["IndexOrder"]

_BATCH = 5000  # entries per insert


class IndexOrder:
    """Collects entries (``add``), then gives back the taken ones sorted by payer and
    reference, the file's order among equals (``entries``), and the lines that repeat an
    earlier line's payer and period (``repeats``: no set of every payer held in memory)."""

    def __init__(self) -> None:
        # "": a private temporary database, on disk once it outgrows the page cache (in
        # SQLITE_TMPDIR or TMPDIR), its file already unlinked; nothing to keep after a crash,
        # so no journal and no syncing
        self._db = sqlite3.connect("", isolation_level=None)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "temp_store=FILE"):
            self._db.execute(f"PRAGMA {pragma}")
        self._db.execute(
            "CREATE TABLE entries (payer TEXT NOT NULL, reference TEXT NOT NULL, "
            "line INTEGER NOT NULL, taken INTEGER NOT NULL, entry TEXT)"
        )
        self._pending: list[tuple[str, str, int, int, str | None]] = []
        self.count = 0

    def add(self, entry: RosterEntry, *, taken: bool = True) -> None:
        """Keep ``entry`` for ``entries`` (``taken``), or only its key for ``repeats``."""
        text = _encode(entry) if taken else None
        self._pending.append((entry.payer_id, entry.reference, entry.line, int(taken), text))
        self.count += taken
        if len(self._pending) >= _BATCH:
            self._write()

    def entries(self) -> Iterator[RosterEntry]:
        """Every entry added, in the journal's index order, streamed."""
        self._write()
        rows = self._db.execute(
            "SELECT entry FROM entries WHERE taken ORDER BY payer, reference, line"
        )
        for (text,) in rows:
            yield _decode(text)

    def repeats(self) -> Iterator[tuple[int, int]]:
        """``(line, first line)`` of every entry added whose payer and period an earlier line
        has, in line order."""
        self._write()
        yield from self._db.execute(
            "SELECT line, first FROM (SELECT line, min(line) OVER (PARTITION BY payer, reference)"
            " AS first FROM entries) WHERE line <> first ORDER BY line"
        )

    def close(self) -> None:
        """Let the scratch go (SQLite frees its already unlinked file)."""
        self._db.close()

    def __enter__(self) -> IndexOrder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _write(self) -> None:
        if self._pending:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT INTO entries VALUES (?, ?, ?, ?, ?)", self._pending)
            self._db.execute("COMMIT")
            self._pending = []


def _encode(entry: RosterEntry) -> str:
    """An entry as JSON text: money as minor units and currency, the date as ISO text."""
    fields: list[Any] = list(entry)
    fields[3] = [entry.amount.minor, entry.amount.currency.code]
    fields[10] = list(entry.channels)
    fields[15] = entry.mandate_date.isoformat() if entry.mandate_date else None
    fields[17] = dict(entry.extra)
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


def _decode(text: str) -> RosterEntry:
    fields = json.loads(text)
    fields[3] = Money.of_minor(fields[3][0], fields[3][1])
    fields[10] = tuple(fields[10])
    fields[15] = date.fromisoformat(fields[15]) if fields[15] else None
    fields[17] = fields[17] or NO_EXTRA
    return RosterEntry(*fields)
