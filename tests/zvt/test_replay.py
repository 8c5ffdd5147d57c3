"""Transcript fixtures recorded from the simulator, replayed byte for byte.

Our half of every fixture must come out of the library exactly as recorded (masked the
same way), while the terminal's half is played back; each scenario must also end the same.
A second test re-records each scenario against today's simulator: the terminal's half must
not drift either.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from paychannels import Collector
from paychannels.drivers.zvt import TerminalChannel
from paychannels.links import Transcript
from tests.zvt.hexfile import FIXTURES
from tests.zvt.record_fixtures import record
from tests.zvt.replayer import Replayer
from tests.zvt.scenarios import EXPECTED, OPTIONS, PASSWORD, SCENARIOS


def units(transcript: Transcript) -> list[tuple[str, str]]:
    """Bytes exactly; events by kind (their details name ports and device paths)."""
    return [(e.direction, e.data.hex() or e.text.split(":")[0]) for e in transcript.entries]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_replay_byte_for_byte(name: str, tmp_path: Path) -> None:
    scenario = SCENARIOS[name]
    fixture = Transcript.load(FIXTURES / f"{name}.trace")
    replayer = Replayer(fixture, scenario.transport).start()
    if scenario.transport == "tcp":
        url = f"zvt+tcp://{replayer.address}?{OPTIONS}"
    else:
        url = f"zvt+serial://{replayer.address}?baudrate=9600&{OPTIONS}"
    try:
        with Collector.open(f"sqlite:///{tmp_path}/j.db", create=True) as col:
            channel = col.add_channel("hall-1", url, password=PASSWORD)
            assert isinstance(channel, TerminalChannel)
            got = scenario.run(col, channel, lambda script: None)
    finally:
        replayer.close()
    assert replayer.problems == []
    assert got == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest.mark.slow
def test_the_simulator_still_says_what_was_recorded(name: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "t.trace"
        assert record(name, target) == EXPECTED[name]
        fresh = Transcript.load(target)
    assert units(fresh) == units(Transcript.load(FIXTURES / f"{name}.trace"))
