"""Contract harnesses for ZVT terminals: the simulator over TCP and over a real pty (pyserial).

The simulator sends full card numbers here (``full_pan``), so the transcript test proves
the spy masks them. Ground truth per payment comes from the simulator's own journal: the
channel's ``watch`` hook labels each booking command as it leaves, the terminal files the
transaction it books under that label.
"""

from __future__ import annotations

from typing import ClassVar

from paychannels import Channel, open_channel
from paychannels.drivers.zvt import TerminalChannel, TerminalEvent
from paychannels.simulators.terminal import Script, TerminalSimulator
from tests.contract.harnesses import Harness
from tests.contract.harnesses.simterminal import CARD, SimTerminalHarness

PASSWORD = "246813"
TIMERS = "t3=0.5&t4=1.5&t2=1"

_SCRIPTS = {
    "approve": Script(),
    "decline": Script(outcome="decline", result_code=0x05),
    "insufficient_funds": Script(outcome="insufficient_funds"),
    "lose_request": Script(faults=frozenset({"lose_request"})),
    "lose_reply": Script(faults=frozenset({"disconnect_after_approval"})),
    "garble_reply": Script(faults=frozenset({"garble_reply"})),
}


class ZvtHarness(SimTerminalHarness):
    """A ZVT terminal simulator; subclasses pick the transport."""

    name = "zvt"
    supports = frozenset(
        {
            "approve",
            "decline",
            "insufficient_funds",
            "refuse",
            "lose_request",
            "lose_reply",
            "garble_reply",
        }
    )
    refuse: ClassVar[Script]

    def open(self) -> Channel:
        self.sim = TerminalSimulator(password=int(PASSWORD), card=CARD, full_pan=True, t2=0.3)
        self.scripts = {**_SCRIPTS, "refuse": self.refuse}
        path = self.start_transcript("zvt-contract-")
        channel = open_channel(self.url(), password=PASSWORD, transcript=path)
        assert isinstance(channel, TerminalChannel)
        channel.watch(self._label)
        self.channel = channel
        return channel

    def url(self) -> str:
        raise NotImplementedError

    def _label(self, event: TerminalEvent) -> None:
        if event.kind == "command" and event.record_id:
            parent = event.data.get("parent_id")
            self.label(event.record_id, str(parent) if parent else None)

    def secrets(self) -> list[str]:
        return [CARD, CARD[:18], PASSWORD]

    def close(self) -> None:
        self.channel.close()
        self.close_all()


class ZvtTcpHarness(ZvtHarness):
    """ZVT over TCP on 127.0.0.1; a refused command is answered ``84 83``."""

    name = "zvt+tcp"
    refuse = Script(faults=frozenset({"refuse"}))

    def url(self) -> str:
        host, port = self.sim.serve_tcp("127.0.0.1", 0)
        return f"zvt+tcp://{host}:{port}?{TIMERS}"


class ZvtSerialHarness(ZvtHarness):
    """ZVT over a pty opened by pyserial; a refused command is NAKed on every transmission."""

    name = "zvt+serial"
    refuse = Script(faults=frozenset({"nak_always"}))

    def url(self) -> str:
        path = self.sim.serve_pty()
        return f"zvt+serial://{path}?baudrate=9600&stopbits=2&{TIMERS}"


HARNESSES: dict[str, type[Harness]] = {"zvt+tcp": ZvtTcpHarness, "zvt+serial": ZvtSerialHarness}
