"""The command line: readable errors without tracebacks, JSON for machines, masked payer ids."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from paychannels import Collector, MemoryChannel, Money, PaymentRequest
from paychannels.cli.main import main
from paychannels.journal import SCHEMA_VERSION
from tests.commands import paychannels


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return paychannels(*args)


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/j.db"
    with Collector.open(url, create=True) as col:
        col.add_channel("hall-1", MemoryChannel())
        col.collect(
            PaymentRequest(
                payer_id="150422199001011234",
                amount=Money("380.00", "CNY"),
                reference="2026",
                idempotency_key="k1",
                payer_name="张三",
            ),
            channel="hall-1",
        )
    return url


def test_version() -> None:
    out = run("--version")
    assert out.returncode == 0 and out.stdout.startswith("paychannels ")


def test_list_and_show(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["journal", "list", "--db", db]) == 0
    text = capsys.readouterr().out
    assert "150422********1234" in text and "150422199001011234" not in text
    assert main(["journal", "list", "--db", db, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["status"] == "SUCCEEDED" and "payer_name" not in rows[0]
    assert main(["journal", "show", rows[0]["id"], "--db", db, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [e["to_status"] for e in shown["events"] if e["to_status"]] == [
        "CREATED",
        "DISPATCHED",
        "SUCCEEDED",
    ]
    assert main(["journal", "show", rows[0]["id"], "--db", db]) == 0
    assert "CREATED -> DISPATCHED" in capsys.readouterr().out


def test_migrate_and_verify(tmp_path: Path, db: str, capsys: pytest.CaptureFixture[str]) -> None:
    fresh = f"sqlite:///{tmp_path}/new.db"
    assert main(["journal", "migrate", "--db", fresh, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "journal": fresh,
        "from": 0,
        "to": SCHEMA_VERSION,
    }
    assert main(["journal", "verify", "--db", db]) == 0
    assert "0 with problems" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["journal", "list", "--db", "sqlite:////no/such/dir/x.db"], "does not exist"),
        (["journal", "list", "--db", "mysql://x/y"], "no journal backend"),
        (["journal", "list", "--db", "postgresql://u@127.0.0.1:1/x"], "cannot reach PostgreSQL"),
        (["journal", "show", "pay_nope", "--db", "sqlite:///:memory:"], "no journal at"),
    ],
)
@pytest.mark.slow
def test_user_errors_are_one_readable_line(args: list[str], message: str) -> None:
    out = run(*args)
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr


@pytest.mark.slow
def test_debug_shows_the_traceback() -> None:
    out = run("--debug", "journal", "list", "--db", "mysql://x/y")
    assert out.returncode != 0 and "Traceback" in out.stderr


@pytest.mark.slow
def test_missing_payment_is_a_clear_error(db: str) -> None:
    out = run("journal", "show", "pay_nope", "--db", db)
    assert out.returncode == 2 and "no payment or refund 'pay_nope'" in out.stderr


@pytest.mark.slow
def test_sim_entry_point_answers() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "paychannels.simulators.cli", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0 and "paychannels-sim" in out.stdout
