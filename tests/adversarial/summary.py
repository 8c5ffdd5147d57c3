"""pytest plugin: print the adversarial figures per test and for the session.

Loaded by tests/conftest.py so that it runs on pytest-xdist's controller too, which
collects no test (a conftest under tests/adversarial/ would never load there). Each worker
sends its figures in ``workeroutput`` when it finishes; the controller adds them up, so
``pytest -n auto`` prints the same total line as a serial run.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.adversarial.tally import REPORTS, Tally

_KEY = "adversarial"


def pytest_sessionfinish(session: pytest.Session) -> None:
    """On an xdist worker: hand this worker's figures to the controller."""
    workeroutput: dict[str, Any] | None = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[_KEY] = {test_id: t.as_dict() for test_id, t in REPORTS.items()}


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """On the xdist controller: add up a finished worker's figures."""
    for test_id, figures in getattr(node, "workeroutput", {}).get(_KEY, {}).items():
        REPORTS.setdefault(test_id, Tally()).add(Tally(**figures))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not any(t.trials for t in REPORTS.values()):
        return
    terminalreporter.section("adversarial")
    total = Tally()
    for test_id in sorted(REPORTS):
        tally = REPORTS[test_id]
        if not tally.trials:
            continue
        terminalreporter.write_line(f"{test_id}: {tally.line()}")
        total.add(tally)
    terminalreporter.write_line(f"adversarial: {total.line()}")
