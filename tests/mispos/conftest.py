"""A simulated MIS-POS terminal on a pty (or TCP), a Collector paying through it, its truth."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

import pytest

from paychannels import Collector, Status
from paychannels.drivers.mispos.channel import MisposChannel
from paychannels.drivers.mispos.profile import shipped_profiles
from paychannels.drivers.mispos.profile_checks import load
from paychannels.simulators.terminal import TerminalSimulator
from tests.halls import SimHall

CARD = "6222021234567890123"


@dataclass
class Hall(SimHall):
    """The simulator and a Collector paying through it (channel ``mis``)."""

    CHANNEL: ClassVar[str] = "mis"
    channel: MisposChannel
    profile: str
    url: str
    transcript: Path

    def check_truth(self) -> None:
        """Every journaled payment agrees with the terminal: SUCCEEDED iff charged once."""
        for record in self.col.find(kind="payment", limit=1000):
            charged = self.charges(record)
            taken = 1 if record.status is Status.SUCCEEDED else 0
            assert charged == taken, f"{record.id} is {record.status} but charged {charged}"
            assert self.col.journal.verify(record.id) == []

    def close(self) -> None:
        self.col.close()
        self.sim.close()


def open_hall(tmp_path: Path, profile: str, *, tcp: bool = False, query: str = "") -> Hall:
    sim = TerminalSimulator(card=CARD)
    spec = load(profile)  # the simulated terminal resends an unacknowledged answer quickly
    quick = replace(spec, frame=replace(spec.frame, ack_timeout=0.3))
    where = sim.serve_mispos(quick, tcp=("127.0.0.1", 0) if tcp else None)
    scheme = "mispos+tcp" if tcp else "mispos+serial"
    url = f"{scheme}://{where}?profile={profile}&answer_timeout=1{query}"
    col = Collector.open(f"sqlite:///{tmp_path}/journal.db", create=True)
    transcript = tmp_path / "transcript.txt"
    channel = col.add_channel("mis", url, transcript=transcript)
    assert isinstance(channel, MisposChannel)
    channel.watch(lambda _verb, record: sim.terminal.tag_next(record.id))
    return Hall(sim, col, channel, profile, url, transcript)


@pytest.fixture(params=shipped_profiles())
def hall(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Hall]:
    h = open_hall(tmp_path, request.param)
    yield h
    h.close()
