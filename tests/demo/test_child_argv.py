"""No process the demo starts carries the journal's URL on its command line.

``/proc/<pid>/cmdline`` (what ``ps`` shows) is readable by every user of the machine, and a
PostgreSQL URL may carry a password: children get it on a pipe. The journal URL here has a
password the test server ignores (trust), so a leak is visible, not a failed login.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a real (small) demo day on PostgreSQL, ~20 s

SECRET = "demo-pw-4711-not-for-ps"
WAIT = 240.0


def _children(root: int) -> list[int]:
    """Every live descendant of ``root`` (from /proc: parent ids)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # gone meanwhile
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        kids = [p for p, parent in parents.items() if parent == pid]
        found += kids
        todo += kids
    return found


def _cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
def test_no_child_of_the_demo_has_the_journal_url_on_its_command_line(
    tmp_path: Path, pg_url: str
) -> None:
    db = f"{pg_url}&password={SECRET}"
    schema = pg_url.rsplit("%3D", 1)[1]  # the private schema's name, as distinctive as the URL
    out = tmp_path / "summary.json"
    argv = [sys.executable, "-m", "paychannels.cli.main", "demo", "--json", "--payers", "300",
            "--seed", "7", "--out", str(tmp_path / "day"), "--db", db]  # fmt: skip
    seen: dict[int, str] = {}
    with out.open("w") as stdout:
        proc = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + WAIT
            while proc.poll() is None and time.monotonic() < deadline:
                for pid in _children(proc.pid):
                    seen[pid] = seen.get(pid) or _cmdline(pid)
                time.sleep(0.01)
        finally:
            proc.kill() if proc.poll() is None else None
            _, err = proc.communicate(timeout=30)
    summary = json.loads(out.read_text())
    assert summary["crash"]["killed"] is True, err[-2000:]  # the crash child ran and was seen
    assert any("crash_child" in cmd for cmd in seen.values()), seen
    for cmd in seen.values():
        assert SECRET not in cmd and schema not in cmd and "postgres" not in cmd, cmd
