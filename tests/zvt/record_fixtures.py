"""Record fixtures/zvt/*.trace from the simulator: ``python -m tests.zvt.record_fixtures [NAME]``.

Each scenario of ``scenarios`` runs against a fresh simulator with a fixed clock, through a
channel whose spy writes the (masked) transcript straight into fixtures/zvt/. The replay
test then holds the library to these bytes.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from paychannels import Collector
from paychannels.drivers.zvt import TerminalChannel
from paychannels.simulators.terminal import TerminalSimulator
from tests.zvt.hexfile import FIXTURES
from tests.zvt.scenarios import CLOCK, EXPECTED, OPTIONS, PASSWORD, SCENARIOS


def record(name: str, target: Path) -> list[str]:
    """Run one scenario against the simulator, writing its transcript to ``target``."""
    scenario = SCENARIOS[name]
    target.unlink(missing_ok=True)  # the channel appends to its transcript
    with TerminalSimulator(password=int(PASSWORD), clock=lambda: CLOCK, t2=0.3) as sim:
        if scenario.transport == "tcp":
            host, port = sim.serve_tcp("127.0.0.1", 0)
            url = f"zvt+tcp://{host}:{port}?{OPTIONS}"
        else:
            url = f"zvt+serial://{sim.serve_pty()}?baudrate=9600&{OPTIONS}"
        with (
            tempfile.TemporaryDirectory() as tmp,
            Collector.open(f"sqlite:///{tmp}/j.db", create=True) as col,
        ):
            channel = col.add_channel("hall-1", url, password=PASSWORD, transcript=target)
            assert isinstance(channel, TerminalChannel)
            return scenario.run(col, channel, sim.terminal.scripts.push)


def main(names: list[str]) -> int:
    for name in names or sorted(SCENARIOS):
        got = record(name, FIXTURES / f"{name}.trace")
        status = "ok" if got == EXPECTED[name] else f"UNEXPECTED {got}"
        print(f"{name}: {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
