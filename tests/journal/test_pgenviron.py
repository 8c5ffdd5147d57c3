"""The connection a PostgreSQL program gets through its environment, never its argv."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from paychannels.journal.pgenviron import libpq_environment
from paychannels.values.errors import InvalidURL

pytest.importorskip("psycopg")

URL = (
    "postgresql://clerk:s3cr%40t@db.example:6543/ledger"
    "?options=-csearch_path%3Dj&sslmode=require&outcome_sync=full"
)


def test_every_setting_goes_to_its_libpq_variable() -> None:
    with libpq_environment(URL, {"PATH": "/bin"}) as env:
        assert env == {
            "PATH": "/bin",
            "PGUSER": "clerk",
            "PGPASSWORD": "s3cr@t",
            "PGHOST": "db.example",
            "PGPORT": "6543",
            "PGDATABASE": "ledger",
            "PGOPTIONS": "-csearch_path=j",
            "PGSSLMODE": "require",
        }


def test_settings_without_a_variable_go_in_a_private_service_file() -> None:
    with libpq_environment(f"{URL}&keepalives_idle=30&sslpassword=k3y", {}) as env:
        path = Path(env["PGSERVICEFILE"])
        assert env["PGSERVICE"] == "paychannels"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert path.read_text() == "[paychannels]\nkeepalives_idle=30\nsslpassword=k3y\n"
        assert "PGSSLPASSWORD" not in env and env["PGHOST"] == "db.example"
    assert not path.parent.exists(), "the service file outlives the program"


def test_a_named_service_and_loose_settings_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "services").write_text("[prod]\nhost=db.example\n")
    monkeypatch.setenv("PGSERVICEFILE", str(tmp_path / "services"))
    loose = libpq_environment("postgresql:///?service=prod&keepalives=0&password=pw", {})
    with pytest.raises(InvalidURL, match="names a service") as caught, loose:
        pass
    assert "pw" not in str(caught.value)
