"""The per-terminal lock: held across processes, taken over at once from a dead process."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from paychannels import Collector, MemoryChannel, NotSentError
from paychannels.collector import _Context


def context(col: Collector) -> _Context:
    return _Context(col, "hall-1", None)


@pytest.fixture
def col(tmp_path: Path) -> Collector:
    c = Collector.open(f"sqlite:///{tmp_path}/j.db")
    c.add_channel("hall-1", MemoryChannel())
    return c


def dead_owner() -> str:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    import socket

    return f"{socket.gethostname()}/{proc.stdout.strip()}/deadbeef"


def test_a_live_holder_keeps_the_terminal(col: Collector) -> None:
    other = Collector(col.journal)  # another owner in a live process (this one)
    other.add_channel("hall-1", MemoryChannel())
    with context(other).lock("terminal", timeout=1):
        start = time.monotonic()
        with pytest.raises(NotSentError, match="busy"), context(col).lock("terminal", timeout=0.3):
            pass
        assert time.monotonic() - start >= 0.3
    with context(col).lock("terminal", timeout=0.3):
        assert col.journal.lock_owner("hall-1:terminal") == col.owner
    assert col.journal.lock_owner("hall-1:terminal") is None


def test_a_dead_holder_is_replaced_at_once(col: Collector) -> None:
    owner = dead_owner()
    now = col.clock.now()
    assert col.journal.acquire_lock(
        "hall-1:terminal", owner, until=now + timedelta(hours=1), now=now
    )
    start = time.monotonic()
    with context(col).lock("terminal", timeout=5):
        assert col.journal.lock_owner("hall-1:terminal") == col.owner
    assert time.monotonic() - start < 1


def test_a_holder_on_another_host_is_trusted_until_its_lease_ends(col: Collector) -> None:
    now = col.clock.now()
    col.journal.acquire_lock(
        "hall-1:terminal", "elsewhere/1/x", until=now + timedelta(hours=1), now=now
    )
    with pytest.raises(NotSentError), context(col).lock("terminal", timeout=0.2):
        pass
