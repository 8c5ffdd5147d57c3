"""``paychannels recover`` as people run it: real processes, real signals, both journals.

Two janitors race over one journal with payments left UNKNOWN on a device whose ledger is
a file, and a bank folder holding files nobody can read: every payment is resolved once
(one SUCCEEDED event each, charged once by the device), the day's bank job runs in one of
them only, and each bad file is quarantined once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from paychannels import Collector, Status
from paychannels.channels.ledger import FileLedger
from tests.operations.support import bank_url, leave_in_doubt

pytestmark = pytest.mark.slow

N = 30
TIMEOUT = 120


def _argv(db: str, tmp_path: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "paychannels.cli.main", "recover", "--db", db,
        "--channel", f"mem=memory://{tmp_path / 'ledger.sqlite'}",
        "--channel", f"bank={bank_url(tmp_path / 'x')}",
        "--schedule", "bank=bank-results@00:00", "--json", *extra,
    ]  # fmt: skip


def _rounds(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_two_janitors_racing_resolve_each_payment_once_and_download_once(
    journal_url: str, tmp_path: Path
) -> None:
    ids = leave_in_doubt(journal_url, tmp_path / "ledger.sqlite", N)
    inbox = tmp_path / "x" / "inbox"
    inbox.mkdir(parents=True)
    for name in ("r1.xml", "r2.txt"):
        (inbox / name).write_text("not a result file\n", encoding="utf-8")
    racers = [
        subprocess.Popen(
            _argv(journal_url, tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=TIMEOUT) for p in racers]
    codes = [p.returncode for p in racers]
    assert set(codes) <= {0, 3}, (codes, [err for _, err in outs])
    [[a], [b]] = [_rounds(out) for out, _ in outs]
    jobs = [r["jobs"][0]["outcome"] for r in (a, b)]
    assert jobs.count("done") == 1 and set(jobs) - {"done"} <= {"already done", "busy"}, jobs
    assert a["quarantined"] + b["quarantined"] == 2
    done_by = a if a["jobs"][0]["outcome"] == "done" else b
    assert done_by["exit_code"] == 3  # files were set aside: a person should look
    quarantine = tmp_path / "x" / "quarantine"
    assert sorted(p.name for p in quarantine.iterdir()) == [
        "r1.xml", "r1.xml.reason.txt", "r2.txt", "r2.txt.reason.txt",
    ]  # fmt: skip
    ledger = FileLedger(tmp_path / "ledger.sqlite")
    with Collector.open(journal_url) as col:
        for pid in ids:
            assert col.status(pid).status is Status.SUCCEEDED
            succeeded = [
                e for e in col.journal.events(record_id=pid) if e.to_status is Status.SUCCEEDED
            ]
            assert len(succeeded) == 1, pid
            entry = ledger.get(pid)
            assert entry is not None and entry.charges == 1
        assert col.journal.state_get("janitor", f"bank-results:bank:{a['jobs'][0]['day']}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_the_loop_ends_after_its_round_on_a_signal_with_0(
    sqlite_url: str, tmp_path: Path, sig: signal.Signals
) -> None:
    leave_in_doubt(sqlite_url, tmp_path / "ledger.sqlite", 2)
    p = subprocess.Popen(
        _argv(sqlite_url, tmp_path, "--loop", "--interval", "200ms"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(TIMEOUT, p.kill)  # a silent process must not hang the suite
    watchdog.start()
    try:
        assert p.stdout is not None
        first = json.loads(p.stdout.readline())  # a round was done: the loop is running
        assert first["resolved"] == {"SUCCEEDED": 2}
        time.sleep(0.3)
        os.kill(p.pid, sig)
        out, err = p.communicate(timeout=30)
    finally:
        watchdog.cancel()
        if p.poll() is None:
            p.kill()
            p.wait(timeout=10)
    assert p.returncode == 0, err
    assert "interrupted" not in err
    later = _rounds(out)
    assert later and all(r["jobs"][0]["outcome"] == "already done" for r in later)


def test_once_exits_0_when_settled_3_in_doubt_and_2_on_bad_usage(
    sqlite_url: str, tmp_path: Path
) -> None:
    leave_in_doubt(sqlite_url, tmp_path / "ledger.sqlite", 1)
    bare = [sys.executable, "-m", "paychannels.cli.main", "recover", "--db", sqlite_url]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*bare, *args], capture_output=True, text=True, timeout=TIMEOUT)

    in_doubt = run()  # its channel not given: nobody can ask
    assert in_doubt.returncode == 3, in_doubt.stderr
    assert in_doubt.stdout.startswith("janitor NOT settled:") and "1 not asked" in in_doubt.stdout
    settled = run("--channel", f"mem=memory://{tmp_path / 'ledger.sqlite'}")
    assert settled.returncode == 0, settled.stderr
    assert settled.stdout.count("\n") == 1 and "1 resolved (1 SUCCEEDED)" in settled.stdout
    for bad in (
        ["--loop", "--interval", "soon"],
        ["--schedule", "mem=lunch@12:00"],
        ["--schedule", "mem=bill@10:00"],  # a memory device has no bill
        ["--channel", "no-url"],
    ):
        r = run(*bad)
        assert r.returncode == 2, (bad, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr and r.stderr.strip()
