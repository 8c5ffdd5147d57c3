"""The journal's rows as the database holds them, read behind the journal's back.

Tests that compare bytes written by two paths (set-based and row by row, before and after a
change) read the tables themselves, on SQLite and PostgreSQL alike, with one reader.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any


def stored_rows(url: str, sql: str, params: Sequence[object] = ()) -> list[dict[str, Any]]:
    """Each row of ``sql`` (``?`` placeholders) as column -> value, as the driver reads it."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            conn.row_factory = sqlite3.Row
            return [dict(r) for r in conn.execute(sql, tuple(params))]
        finally:
            conn.close()
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(url, row_factory=dict_row) as pg:
        return [dict(r) for r in pg.execute(sql.replace("?", "%s"), tuple(params))]
