"""``Stopping.draining``: a command that ends itself between steps is told, not cut.

Real signals to this very process, sent from the command's own worker thread (so the
handlers of ``run`` are in place when they arrive).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from paychannels.console.interrupt import Stopping, run


@pytest.fixture(autouse=True)
def _process_state() -> Iterator[None]:
    """What a wind-down changes for the rest of the process, given back to pytest."""
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    hooks = (threading.excepthook, sys.unraisablehook)
    levels = [(h, h.level) for h in logging.getLogger().handlers]
    yield
    for sig, handler in handlers.items():
        signal.signal(sig, handler)
    threading.excepthook, sys.unraisablehook = hooks
    for h, level in levels:
        h.setLevel(level)


def _work(stopping: Stopping, signals: int) -> int:
    for _ in range(signals):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.2)  # the main thread sees it within its 0.1 s poll
    assert stopping.wait(5.0)  # told
    time.sleep(0.3)  # the rest of the round
    return 0


def test_a_draining_command_finishes_and_returns_its_own_code() -> None:
    stopping = Stopping(grace=10.0)
    stopping.draining = True
    assert run(lambda: _work(stopping, 1), stopping, prog="t") == 0


def test_a_second_signal_winds_a_draining_command_down() -> None:
    stopping = Stopping(grace=10.0)
    stopping.draining = True
    assert run(lambda: _work(stopping, 2), stopping, prog="t") == 128 + signal.SIGTERM


def test_without_draining_the_first_signal_winds_down() -> None:
    stopping = Stopping(grace=10.0)
    assert run(lambda: _work(stopping, 1), stopping, prog="t") == 128 + signal.SIGTERM
