"""A simulated terminal on TCP or a pty, a Collector with a zvt channel to it, and its truth."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest

from paychannels import Collector, Status
from paychannels.drivers.zvt import TerminalChannel, TerminalEvent
from paychannels.simulators.terminal import TerminalSimulator
from tests.halls import SimHall

PASSWORD = "246813"
CARD = "6222021234567890123"
TIMERS = "t3=0.5&t4=1.5&t2=1"


@dataclass
class Hall(SimHall):
    """A terminal simulator and a Collector paying through it (channel ``hall-1``)."""

    CHANNEL: ClassVar[str] = "hall-1"
    channel: TerminalChannel
    transport: str
    url: str
    transcript: Path

    def check_truth(self) -> None:
        """Every journaled payment agrees with the terminal: SUCCEEDED iff charged once."""
        for record in self.col.find(kind="payment", limit=1000):
            charged = self.charges(record)
            if record.status is Status.SUCCEEDED:
                assert charged == 1, f"{record.id} SUCCEEDED but charged {charged} times"
            else:
                assert charged == 0, f"{record.id} is {record.status} but was charged {charged}"
            assert self.col.journal.verify(record.id) == []
        # we resolve every in-doubt attempt before the next command, so the terminal never
        # has to reverse one implicitly on our 1F1F echo
        assert not any(t.reversed_implicitly for t in self.sim.terminal.journal.txns)


def open_hall(tmp_path: Path, transport: str, *, options: str = TIMERS, **sim: object) -> Hall:
    simulator = TerminalSimulator(password=int(PASSWORD), card=CARD, t2=0.3, ack_timeout=1.0, **sim)  # type: ignore[arg-type]
    if transport == "tcp":
        host, port = simulator.serve_tcp("127.0.0.1", 0)
        url = f"zvt+tcp://{host}:{port}?{options}"
    else:
        url = f"zvt+serial://{simulator.serve_pty()}?baudrate=9600&{options}"
    col = Collector.open(f"sqlite:///{tmp_path}/journal.db", create=True)
    transcript = tmp_path / "transcript.txt"
    channel = col.add_channel("hall-1", url, password=PASSWORD, transcript=transcript)
    assert isinstance(channel, TerminalChannel)

    def label(event: TerminalEvent) -> None:
        if event.kind == "command" and event.record_id:
            simulator.terminal.tag_next(event.record_id)

    channel.watch(label)
    return Hall(simulator, col, channel, transport, url, transcript)


@contextlib.contextmanager
def hall_on(tmp_path: Path, transport: str) -> Iterator[Hall]:
    """``open_hall``, its Collector and simulator closed when the block ends."""
    h = open_hall(tmp_path, transport)
    try:
        yield h
    finally:
        h.col.close()
        h.sim.close()


@pytest.fixture(params=["tcp", "serial"])
def hall(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Hall]:
    with hall_on(tmp_path, request.param) as h:
        yield h


@pytest.fixture
def tcp_hall(tmp_path: Path) -> Iterator[Hall]:
    with hall_on(tmp_path, "tcp") as h:
        yield h
