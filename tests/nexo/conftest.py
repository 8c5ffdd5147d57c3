"""A simulated terminal behind its simulated cloud, a Collector paying through it, its truth."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest

from paychannels import Collector, Status
from paychannels.drivers.nexo import CloudPosChannel
from paychannels.simulators.terminal import TerminalSimulator
from tests.contract.harnesses.mobile import Receiver
from tests.halls import SimHall

API_KEY = "AQEyhmfxK4-test-api-key-0123456789"
SECRET = "whsec-nexo-tests-0123456789abcdef"
POIID = "P400Plus-275039202"
CARD = "6222021234567890123"


@dataclass
class Hall(SimHall):
    """The simulator, a receiver for its notifications, and a Collector (channel ``cloud``)."""

    CHANNEL: ClassVar[str] = "cloud"
    channel: CloudPosChannel
    receiver: Receiver
    base: str

    def settle_notifications(self) -> None:
        assert self.sim.cloud is not None
        assert self.sim.cloud.notifier.wait_idle(15), "notifications still in flight"

    def until(self, check: Callable[[], bool], seconds: float = 8.0) -> bool:
        end = time.monotonic() + seconds
        while not check():
            if time.monotonic() > end:
                return False
            time.sleep(0.05)
        return True

    def close(self) -> None:
        """Stop the cloud and its notifications first: a late one must not meet a closed
        journal (SQLite's connections are closed under any thread still using them)."""
        self.sim.close()
        self.receiver.close()
        self.col.close()

    def check_truth(self) -> None:
        """Every journaled payment agrees with the terminal: SUCCEEDED iff charged once."""
        for record in self.col.find(kind="payment", limit=1000):
            charged = self.charges(record)
            if record.status in (Status.SUCCEEDED, Status.REVERSED):
                taken = 0 if record.status is Status.REVERSED else 1
                assert charged == taken, f"{record.id} {record.status} but charged {charged}"
            else:
                assert charged == 0, f"{record.id} is {record.status} but charged {charged}"


def open_hall(tmp_path: Path, *, mode: str = "sync", query: str = "", **sim: object) -> Hall:
    simulator = TerminalSimulator(card=CARD)
    receiver = Receiver()
    base = simulator.serve_nexo(
        poiid=POIID,
        api_key=API_KEY,
        notify_url=receiver.url,
        notify_secret=SECRET,
        cloud_timeout=float(sim.get("cloud_timeout", 3.0)),  # type: ignore[arg-type]
        time_scale=20.0,
    )
    col = Collector.open(f"sqlite:///{tmp_path}/journal.db", create=True)
    url = f"nexo+{base}/?poi={POIID}&mode={mode}&status_wait=0&timeout=5&abort_wait=5{query}"
    channel = col.add_channel(
        "cloud",
        url,
        api_key=API_KEY,
        notify_secret=SECRET,
        backoff=0.01,
        report_url=f"{base}/reports",
    )
    assert isinstance(channel, CloudPosChannel)
    receiver.bind(col, "cloud")
    return Hall(simulator, col, channel, receiver, base)


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[Hall]:
    h = open_hall(tmp_path)
    yield h
    h.close()


@pytest.fixture
def async_hall(tmp_path: Path) -> Iterator[Hall]:
    h = open_hall(tmp_path, mode="async")
    yield h
    h.close()
