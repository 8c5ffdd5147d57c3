"""SIGKILL the backend while it pays through a cloud terminal; restart; compare with the terminal.

The kill lands at each step of the first payment's dispatch (intent journaled, ServiceID
claimed, request sent, terminal approved, journal not yet updated...) and, for the other
two, between "the cloud answered" and "the journal knows". The simulator runs in this
process and keeps its journal across the kill: after the restart every payment is in the
state the terminal says, none charged twice.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from paychannels.simulators.terminal import Rule, Script, TerminalSimulator
from tests import crashkit
from tests.nexo.crash_child import API_KEY, POIID

CHILD = Path(__file__).with_name("crash_child.py")


def simulator() -> tuple[TerminalSimulator, str]:
    sim = TerminalSimulator()
    sim.terminal.scripts.rules.append(
        Rule(Script(outcome="decline"), min_amount=30000, max_amount=30000)
    )
    return sim, sim.serve_nexo(poiid=POIID, api_key=API_KEY, cloud_timeout=5.0)


def run_child(
    db: str, base: str, phase: str, *, crash_at: str = "", trace: Path | None = None
) -> int:
    return crashkit.run_child(CHILD, [db, base, phase], crash_at=crash_at, trace=trace)


def kill_points(tmp: Path) -> list[str]:
    sim, base = simulator()
    trace = tmp / "trace.txt"
    try:
        assert run_child(f"sqlite:///{tmp}/trace.db", base, "work", trace=trace) == 0
    finally:
        sim.close()
    steps = crashkit.numbered_steps(trace)
    first = steps[: steps.index("collect.after_journal@1") + 1]
    points = [*first, "channel.after_send@2", "channel.after_send@3", "collect.after_outcome@2"]
    if os.environ.get("CI") == "true":  # the steps where money moved without the journal knowing
        points = [p for p in points if p.startswith(("channel.", "collect.after_outcome"))]
    return points


@pytest.mark.slow
def test_kill_between_terminal_and_journal_then_recover(tmp_path: Path) -> None:
    points = kill_points(tmp_path)
    assert "channel.after_send@1" in points and "channel.before_send@1" in points
    for i, point in enumerate(points):
        sim, base = simulator()
        try:
            db = f"sqlite:///{tmp_path}/crash-{i}.db"
            code = run_child(db, base, "work", crash_at=point)
            assert code == -signal.SIGKILL, f"{point}: the child was not killed"
            assert run_child(db, base, "restart") == 0
            crashkit.check_terminal_truth(db, sim)
        finally:
            sim.close()
