"""Fixtures of the operations tests: a new, empty database for restores."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.conftest import require_pg


@pytest.fixture
def new_database() -> Iterator[str]:
    """The URL of a new, empty database on the test server (restores go into one)."""
    import psycopg

    base = require_pg()
    name = f"restore_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    parts = urlsplit(base)
    yield urlunsplit(parts._replace(path=f"/{name}"))
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
