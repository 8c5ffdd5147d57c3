"""Shared fixtures: real SQLite files and a real PostgreSQL (one fresh schema per test).

PostgreSQL comes from $PAYCHANNELS_TEST_PG (``.ci/run`` starts one). Outside CI a test that
needs it is skipped when no server answers; under CI=true it fails instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import settings

# property tests check behaviour, never speed: hypothesis's 200 ms deadline per example is a
# timed unit test that a loaded CI machine fails (speed targets live in benchmarks/)
settings.register_profile("paychannels", deadline=None)
settings.load_profile("paychannels")

# the adversarial figures, printed (and under pytest-xdist added up) on the controller
pytest_plugins = ("tests.adversarial.summary",)

PG_ENV = "PAYCHANNELS_TEST_PG"


def _pg_base() -> str | None:
    url = os.environ.get(PG_ENV)
    if not url:
        return None
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3):
            return url
    except Exception:
        return None


_PG_BASE = _pg_base()


def require_pg() -> str:
    """The PostgreSQL base URL, or skip (fail under CI) when none is reachable."""
    if _PG_BASE is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the PostgreSQL tests: {PG_ENV} unset or unreachable")
        pytest.skip(f"no PostgreSQL reachable through {PG_ENV}")
    return _PG_BASE


@contextmanager
def pg_schema() -> Iterator[str]:
    """A journal URL on the test server whose search_path is a fresh, private schema."""
    import psycopg

    base = require_pg()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A journal URL with a private schema on the test PostgreSQL."""
    with pg_schema() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A journal URL for a fresh SQLite file."""
    return f"sqlite:///{tmp_path}/journal.db"


@pytest.fixture(params=["sqlite", "postgres"])
def journal_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same test against both journal backends."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/journal.db"
    else:
        with pg_schema() as url:
            yield url
