"""Crash points are a hook registry: nothing happens at one unless a hook was installed, and
the library never arms itself from the environment (the test kit installs the killer)."""

from __future__ import annotations

import os
import subprocess
import sys

from paychannels.runtime import crashpoints


def test_a_point_runs_the_installed_hooks_in_order_until_uninstalled() -> None:
    seen: list[str] = []
    first = crashpoints.install(lambda name: seen.append(f"1:{name}"))
    second = crashpoints.install(lambda name: seen.append(f"2:{name}"))
    try:
        crashpoints.crashpoint("journal.before_commit")
        crashpoints.uninstall(first)
        crashpoints.crashpoint("collect.after_outcome")
    finally:
        crashpoints.uninstall(first)
        crashpoints.uninstall(second)
    assert seen == ["1:journal.before_commit", "2:journal.before_commit", "2:collect.after_outcome"]
    assert crashpoints.installed() == ()


def test_the_environment_does_not_arm_the_library() -> None:
    env = {**os.environ, "PAYCHANNELS_CRASH_AT": "collect.before_intent"}
    code = "from paychannels.runtime import crashpoints as c; c.crashpoint('collect.before_intent')"
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-300:]}"
