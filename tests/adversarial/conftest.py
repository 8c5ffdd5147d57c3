"""Print the adversarial figures per test and for the session (pytest's terminal summary)."""

from __future__ import annotations

import pytest

from tests.adversarial.harness import REPORTS, Tally


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not any(t.trials for t in REPORTS.values()):
        return
    terminalreporter.section("adversarial")
    total = Tally()
    for test_id, tally in REPORTS.items():
        if not tally.trials:
            continue
        terminalreporter.write_line(f"{test_id}: {tally.line()}")
        total.add(tally)
    terminalreporter.write_line(f"adversarial: {total.line()}")
