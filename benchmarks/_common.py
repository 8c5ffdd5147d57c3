"""What several benchmarks share: a step in its own process, memory read from /proc, a schema.

Each benchmark runs as a script (``python benchmarks/x.py``), so this folder is on its path and
``from _common import ...`` finds this module; a step is the same script started again with
its arguments, answering one JSON object on stdout.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

__all__ = ["StepFailed", "hwm_mb", "schema_url", "status_mb", "step", "tree"]


class StepFailed(SystemExit):
    """A step's process failed; the message names the step and ends with its stderr."""

    def __init__(self, name: str, stderr: str) -> None:
        self.tail = stderr.strip().splitlines()[-1] if stderr.strip() else "failed"
        super().__init__(f"step {name} failed:\n{stderr}")


def status_mb(pid: int | str, field: str) -> float:
    """A memory figure of /proc/<pid>/status in MB (0 when the process is gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def hwm_mb() -> float:
    """This process's peak resident set (``VmHWM``) in MB."""
    return status_mb("self", "VmHWM")


def tree(pid: int) -> list[int]:
    """A process and its descendants."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def schema_url(base: str, schema: str) -> str:
    """``base`` with its search_path set to ``schema`` (one fresh schema per round)."""
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}"


def step(
    script: str,
    name: str,
    *args: str,
    watch_tree: bool = False,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run ``script`` with ``args`` in a fresh interpreter; its JSON answer (the last line).

    ``watch_tree`` adds ``tree_peak_mb``: the largest RSS of the step's process tree, polled.
    ``env``: the step's environment (e.g. ``PYTHONPATH`` to an older tree), else this one's.
    """
    proc = subprocess.Popen(
        [sys.executable, script, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    peak = 0.0
    while watch_tree and proc.poll() is None:
        peak = max(peak, sum(status_mb(p, "VmRSS") for p in tree(proc.pid)))
        time.sleep(0.01)
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise StepFailed(name, err)
    try:
        result: dict[str, Any] = json.loads(out)
    except ValueError:  # a step that printed something before its answer
        result = json.loads(out.strip().splitlines()[-1])
    if watch_tree:
        result["tree_peak_mb"] = peak
    return result
