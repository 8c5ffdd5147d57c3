"""The ``paychannels`` command as a user runs it: a process of its own, output captured, bounded."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def paychannels(
    *args: str,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """``paychannels ARGS`` under this interpreter; a run over ``timeout`` s fails the test."""
    return subprocess.run(
        [sys.executable, "-m", "paychannels.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=cwd,
        check=False,
    )
