"""SIGKILL the backend while it pays through a ZVT terminal; restart; compare with the terminal.

The kill lands at each step of the first payment's dispatch (journal written, marker
written, command sent, terminal approved, journal not yet updated...) and, for the other
two, between "the terminal answered" and "the journal knows". The simulator runs in this
process and keeps its own journal across the kill: after the restart every payment must be
in the state the terminal says, none charged twice.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from paychannels.simulators.terminal import Rule, Script, TerminalSimulator
from tests import crashkit
from tests.zvt.crash_child import PASSWORD

CHILD = Path(__file__).with_name("crash_child.py")
ROOT = Path(__file__).resolve().parents[2]


def simulator() -> TerminalSimulator:
    sim = TerminalSimulator(password=int(PASSWORD), ack_timeout=1.0)
    sim.terminal.scripts.rules.append(
        Rule(Script(outcome="decline"), min_amount=30000, max_amount=30000)
    )
    sim.serve_tcp("127.0.0.1", 0)
    return sim


def run_child(
    db: str, port: int, phase: str, *, crash_at: str = "", trace: Path | None = None
) -> int:
    return crashkit.run_child(CHILD, [db, str(port), phase], crash_at=crash_at, trace=trace)


def kill_points(tmp: Path) -> list[str]:
    """Every step of the first payment's dispatch, then the terminal-answered step of the others."""
    sim = simulator()
    trace = tmp / "trace.txt"
    try:
        assert run_child(f"sqlite:///{tmp}/trace.db", sim.tcp.port, "work", trace=trace) == 0  # type: ignore[union-attr]
    finally:
        sim.close()
    steps = crashkit.numbered_steps(trace)
    first = steps[: steps.index("collect.after_journal@1") + 1]
    return [*first, "channel.after_send@2", "channel.after_send@3", "collect.after_outcome@2"]


@pytest.mark.slow
def test_kill_between_terminal_and_journal_then_recover(tmp_path: Path) -> None:
    points = kill_points(tmp_path)
    assert "channel.after_send@1" in points and "channel.before_send@1" in points
    for i, point in enumerate(points):
        sim = simulator()
        port = sim.tcp.port  # type: ignore[union-attr]
        db = f"sqlite:///{tmp_path}/kill{i}.db"
        try:
            assert run_child(db, port, "work", crash_at=point) == -signal.SIGKILL, (
                f"{point} not reached"
            )
            assert run_child(db, port, "restart") == 0
            crashkit.check_terminal_truth(db, sim)
        finally:
            sim.close()
    print(f"\nzvt crash test: {len(points)} kill points: {', '.join(points)}")
