"""What a journal counts as a flushed commit (``journal.durability``), and the URL it reports.

A lazy answer waits for the next flushed commit to reach the disk. A write transaction that
changed nothing is no such commit: PostgreSQL gives it no transaction id, so no commit record
and no WAL flush; SQLite writes no frame. Counting it as flushed would let ``close()`` (or the
100th answer) skip the flush the lazy answer is owed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from paychannels import open_journal

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_a_write_that_changed_nothing_does_not_close_the_lazy_window(journal_url: str) -> None:
    journal = open_journal(journal_url, create=True)
    try:
        sync = journal.outcome_sync
        with sync.answering():  # a synchronous answer's commit: lazy
            assert journal.acquire_lock("till", "a", until=NOW + timedelta(hours=1), now=NOW)
        assert sync.lazy_commits == 1
        journal.release_lock("till", "nobody")  # a write transaction that deletes no row
        assert sync.owed, "a commit that wrote nothing was counted as flushing the lazy answer"
    finally:
        journal.close()
    assert sync.flushes == 1  # close() flushed what the lazy answer was owed


def test_a_write_that_changed_a_row_closes_the_lazy_window(journal_url: str) -> None:
    journal = open_journal(journal_url, create=True)
    try:
        sync = journal.outcome_sync
        with sync.answering():
            assert journal.acquire_lock("till", "a", until=NOW + timedelta(hours=1), now=NOW)
        journal.release_lock("till", "a")  # deletes the row: a flushed commit
        assert not sync.owed
    finally:
        journal.close()
    assert sync.flushes == 0  # nothing was left to flush


def test_a_postgres_journal_reopened_from_its_url_keeps_outcome_sync(pg_url: str) -> None:
    """``journal.url`` is what another process opens: the rule asked for travels with it."""
    sep = "&" if "?" in pg_url else "?"
    first = open_journal(f"{pg_url}{sep}outcome_sync=full", create=True)
    try:
        assert first.outcome_sync.mode == "full"
        assert "outcome_sync=full" in first.url
        again = open_journal(first.url)
        try:
            assert again.outcome_sync.mode == "full"
        finally:
            again.close()
    finally:
        first.close()
