"""Running a child process that may be killed at a crash point (shared by the crash tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_child(
    child: Path, args: Sequence[str], *, crash_at: str = "", trace: Path | None = None
) -> int:
    """Run ``child`` with ``args``; 0 or -SIGKILL (killed at ``crash_at``), else fail."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYCHANNELS_CRASH")}
    env["PYTHONPATH"] = str(ROOT)
    if crash_at:
        env["PAYCHANNELS_CRASH_AT"] = crash_at
    if trace is not None:
        env["PAYCHANNELS_CRASH_TRACE"] = str(trace)
    proc = subprocess.run(
        [sys.executable, str(child), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if proc.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(f"child failed ({proc.returncode}):\n{proc.stderr}")
    return proc.returncode


def numbered_steps(trace: Path) -> list[str]:
    """Each crash point a traced run reached, numbered: ['collect.before_intent@1', ...]."""
    seen: Counter[str] = Counter()
    out = []
    for name in trace.read_text().split():
        seen[name] += 1
        out.append(f"{name}@{seen[name]}")
    return out
