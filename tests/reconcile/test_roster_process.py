"""The roster's second process failing: the work is done here instead, with one warning
naming it, and the answer is the same — for the in-client reader and the in-database
stager alike (one rule, ``owed.child_answer``)."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path
from typing import Any

import pytest

from paychannels.reconcile import indb, owed, reconcile
from tests.reconcile.day import Day, generate_day


def _broken(spawn: Any, started: list[str]) -> Any:
    """``spawn_module`` starting the real child with arguments it cannot unpack: it fails."""

    def start(module: str, _args: object) -> subprocess.Popen[bytes]:
        started.append(module)
        return spawn(module, "not the arguments")  # type: ignore[no-any-return]

    return start


@pytest.mark.parametrize(
    ("module", "in_database", "words"),
    [(owed, False, "reader process failed"), (indb, True, "staging process failed")],
    ids=["reader", "stager"],
)
def test_a_failed_roster_process_is_done_here(
    tmp_path: Path,
    journal_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    module: Any,
    in_database: bool,
    words: str,
) -> None:
    day = Day.open(tmp_path, journal_url)
    try:
        generate_day(day, 30, seed=7)
        with reconcile(day.journal, day.roster, in_database=in_database) as good:
            expected = list(good.details()), good.summary()["totals"]
        started: list[str] = []
        monkeypatch.setattr(module, "PARALLEL_FROM", 0)  # every roster is "big"
        monkeypatch.setattr(module, "spawn_module", _broken(module.spawn_module, started))
        with (
            caplog.at_level(logging.WARNING, "paychannels.reconcile"),
            reconcile(day.journal, day.roster, in_database=in_database) as rec,
        ):
            assert (list(rec.details()), rec.summary()["totals"]) == expected
        assert started == [module.__name__]
        [warning] = [r.getMessage() for r in caplog.records if words in r.getMessage()]
        assert "here" in warning
    finally:
        day.journal.close()
