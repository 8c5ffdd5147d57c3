"""``paychannels recover --config``: the janitor takes its journal, channels, schedule and
interval from ``paychannels.toml`` (docs/configuration.md, ``[janitor]`` and ``*_at``)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from paychannels import Collector, Status
from paychannels.config import load_config
from paychannels.operations.schedule import JanitorSchedule, JobKind
from tests.commands import paychannels
from tests.operations.support import bank_url, leave_in_doubt


def _config(tmp_path: Path, journal: str) -> Path:
    path = tmp_path / "paychannels.toml"
    path.write_text(
        f'[journal]\nurl = "{journal}"\n\n[county]\nzone = "Asia/Shanghai"\n\n'
        f'[janitor]\ninterval = "5m"\n\n'
        f'[channels.mem]\nurl = "memory://{tmp_path / "ledger.sqlite"}"\n\n'
        f'[channels.bank]\nurl = "{bank_url(tmp_path / "x")}"\nresults_at = "00:00"\n',
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


def test_the_schedule_is_read_from_the_config_file(sqlite_url: str, tmp_path: Path) -> None:
    settings = load_config(_config(tmp_path, sqlite_url)).janitor
    schedule = JanitorSchedule.from_settings(settings)
    assert [(j.channel, j.kind, j.at.isoformat()) for j in schedule.jobs] == [
        ("bank", JobKind.BANK_RESULTS, "00:00:00")
    ]
    assert schedule.zone == "Asia/Shanghai"


def test_recover_runs_from_the_config_file_alone(sqlite_url: str, tmp_path: Path) -> None:
    ids = leave_in_doubt(sqlite_url, tmp_path / "ledger.sqlite", 3)
    (tmp_path / "x" / "inbox").mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PAYCHANNELS_CONFIG": str(_config(tmp_path, sqlite_url))}
    env.pop("PAYCHANNELS_DB", None)
    done = paychannels("recover", "--json", env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    [report] = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert report["resolved"] == {"SUCCEEDED": 3}
    assert [j["outcome"] for j in report["jobs"]] == ["done"]
    with Collector.open(sqlite_url) as col:
        assert all(col.status(pid).status is Status.SUCCEEDED for pid in ids)
