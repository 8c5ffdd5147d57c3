"""The journal in SQL, shared by the SQLite and PostgreSQL backends.

Backends supply connections, transactions, timestamp conversion and the few statements that
differ (row locks, event ordering); everything else — the guard, idempotency, the obligation
rule, events — is written once: the foundation in ``sqlbase``, writes in ``sqlwrites``,
reads and coordination in ``sqlreads``, bulk reports set-based in ``bulk``, many
new payments set-based in ``bulkcreate``, one answer to many records in ``bulkmodify``, the
departments' feed book in ``sqlfeeds``, a roster staged for reconciliation in
``obligations``. All SQL uses
``?`` placeholders; the PostgreSQL backend rewrites them.
"""

from __future__ import annotations

from paychannels.journal.bulk import SqlBulk
from paychannels.journal.bulkcreate import SqlBulkCreate
from paychannels.journal.bulkmodify import SqlBulkModify
from paychannels.journal.obligations import SqlObligations
from paychannels.journal.sqlbase import Row, Tx
from paychannels.journal.sqlfeeds import SqlFeeds
from paychannels.journal.sqlreads import SqlReads

__all__ = ["Row", "SqlJournal", "Tx"]


class SqlJournal(SqlBulkCreate, SqlBulkModify, SqlReads, SqlBulk, SqlFeeds, SqlObligations):
    """Journal logic over any SQL backend that provides ``Tx`` transactions."""
