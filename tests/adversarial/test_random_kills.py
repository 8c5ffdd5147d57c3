"""Random-kill trials on every kind of channel, SQLite and PostgreSQL (see ``harness``).

A backend collecting payments and refunds is SIGKILLed at random moments and right after
the device's writes of money; a restarted backend recovers and retries; the journal must
then agree with the device's own ledger: nothing lost, nothing doubled, nothing phantom.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.adversarial.harness import TRIALS, WRITES, Trials, journal_url
from tests.adversarial.rigs import RIGS

BACKENDS = ["sqlite", "postgres"]


def _check(trials: Trials) -> None:
    problems = trials.tally.problems
    assert not problems, "\n".join(problems)
    assert trials.tally.moved, "the device never moved money: the trials proved nothing"


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("rig", sorted(RIGS))
def test_random_kills(
    rig: str, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    trials = Trials(request.node.name, rig, tmp_path)
    for i in range(TRIALS):
        with journal_url(backend, tmp_path, f"j{i}") as db:
            trials.trial(db, f"random{i}")
    assert trials.tally.trials == TRIALS
    _check(trials)


#: defects owned by other items of issue 11: the test stays, and turns red once they are fixed
KNOWN: dict[str, str] = {}


def _rigs(known: dict[str, str]) -> list[object]:
    return [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=known[name]))
        if name in known
        else name
        for name in sorted(RIGS)
    ]


@pytest.mark.slow
@pytest.mark.parametrize("rig", _rigs(KNOWN))
def test_kill_right_after_device_writes(
    rig: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Kill right after the device's 1st, 2nd, ... write of money (first few, SQLite)."""
    trials = Trials(request.node.name, rig, tmp_path)
    for n in range(1, WRITES + 1):
        with journal_url("sqlite", tmp_path, f"w{n}") as db:
            trials.trial(db, f"write{n}", payments=3, after_write=n)
    assert trials.tally.kills >= 1, "no device write was reached"
    _check(trials)


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_bank_kills_around_ingesting_result_files(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The bank's 2nd file write is its result file: kill within 0.3 s, while the backend
    polls, reads and applies it (and moves it aside)."""
    trials = Trials(request.node.name, "bank", tmp_path)
    for i in range(TRIALS + 1):
        with journal_url(backend, tmp_path, f"i{i}") as db:
            trials.trial(db, f"ingest{i}", payments=4, after_write=2, write_delay=0.3)
    _check(trials)
