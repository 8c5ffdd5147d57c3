"""The adversarial summary adds up every pytest-xdist worker's figures on the controller."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FIGURES = """
import pytest

from tests.adversarial.tally import REPORTS, Tally


@pytest.mark.parametrize("n", range(4))
def test_trial(n: int) -> None:
    REPORTS.setdefault(f"trial[{n}]", Tally()).add(Tally(trials=1, kills=n, payments=2))
"""


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["0", "2"])
def test_the_total_line_counts_every_worker(tmp_path: Path, workers: str) -> None:
    (tmp_path / "test_figures.py").write_text(FIGURES)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    plugin = ["-p", "tests.adversarial.summary", "-p", "no:cacheprovider"]
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            *plugin,
            "-n",
            workers,
            "--dist",
            "load",
            "test_figures.py",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert "adversarial: 4 trials, 6 kills, 8 payments and 0 refunds compared" in run.stdout
    assert [line.split(":")[0] for line in lines if line.startswith("trial[")] == [
        f"trial[{n}]" for n in range(4)
    ]
