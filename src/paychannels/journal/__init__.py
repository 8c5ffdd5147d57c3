"""The journal: intents, appended events and current states, in SQLite or PostgreSQL.

``open_journal(url)`` picks the backend from the URL scheme, like ``serial_for_url``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from paychannels.journal.base import (
    Applied,
    Backlog,
    Change,
    Claim,
    Journal,
    NewRecord,
    StateEntry,
    StateWrite,
)
from paychannels.journal.schema import SCHEMA_VERSION
from paychannels.security.masking import redact_url
from paychannels.security.masking import shown as shown_value
from paychannels.values.errors import InvalidURL, UnknownScheme

__all__ = [
    "SCHEMA_VERSION",
    "Applied",
    "Backlog",
    "Change",
    "Claim",
    "Journal",
    "NewRecord",
    "StateEntry",
    "StateWrite",
    "open_journal",
]

_FORMS = "sqlite:///path.db, sqlite:///:memory: or postgresql://user@host:5432/dbname"


def open_journal(url: str, *, create: bool = False) -> Journal:
    """Open (not migrate) the journal a URL names; ``JournalUnavailable`` if it holds none.

    ``create=True`` makes a new journal (at the current schema) only where there is none: a
    missing SQLite file, a PostgreSQL schema without journal tables. An empty or foreign
    file is refused either way — starting afresh there would forget every payment.
    """
    if not isinstance(url, str) or "://" not in url:
        shown = redact_url(url, message=True) if isinstance(url, str) else repr(url)
        raise InvalidURL(f"{shown} is not a journal URL; expected {_FORMS}")
    try:
        scheme = urlsplit(url).scheme
    except ValueError:
        raise InvalidURL(f"{redact_url(url, message=True)} is not a valid journal URL") from None
    if scheme == "sqlite":
        from paychannels.journal.sqlite import SqliteJournal

        return SqliteJournal(url, create=create)
    if scheme in ("postgresql", "postgres"):
        from paychannels.journal.postgres import PostgresJournal

        return PostgresJournal(url, create=create)
    raise UnknownScheme(f"no journal backend for {shown_value(scheme)}; expected {_FORMS}")
