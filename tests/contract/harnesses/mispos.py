"""Contract harnesses for ``MisposChannel``: the simulator over a real pty, one per shipped
profile (a profile added to ``drivers/mispos/profiles`` joins the suite by itself).

The simulator sends full card numbers, so the transcript test proves the spy masks them.
Ground truth per payment comes from the simulator's own journal: the channel's ``watch``
hook labels each booking request as it leaves, the terminal files the transaction under it.
"""

from __future__ import annotations

from typing import ClassVar

from paychannels import Channel, open_channel
from paychannels.drivers.mispos.channel import MisposChannel
from paychannels.drivers.mispos.profile import shipped_profiles
from paychannels.drivers.mispos.profile_checks import load
from paychannels.simulators.terminal import Script, TerminalSimulator
from tests.contract.harnesses import Harness
from tests.contract.harnesses.simterminal import CARD, SimTerminalHarness

_SCRIPTS = {
    "approve": Script(),
    "decline": Script(outcome="decline", result_code=0x05),
    "insufficient_funds": Script(outcome="insufficient_funds"),
    "refuse": Script(faults=frozenset({"nak_always"})),
    "lose_request": Script(faults=frozenset({"lose_request"})),
    "lose_reply": Script(faults=frozenset({"disconnect_after_approval"})),
    "garble_reply": Script(faults=frozenset({"garble_reply"})),
}


class MisposHarness(SimTerminalHarness):
    """A MIS-POS terminal simulator speaking ``profile`` on a pty."""

    profile: ClassVar[str]
    supports = frozenset(_SCRIPTS)
    scripts = _SCRIPTS

    def open(self) -> Channel:
        self.sim = TerminalSimulator(card=CARD)
        path = self.start_transcript("mispos-contract-")
        pty = self.sim.serve_mispos(load(self.profile))
        url = f"mispos+serial://{pty}?profile={self.profile}&answer_timeout=1"
        channel = open_channel(url, transcript=path)
        assert isinstance(channel, MisposChannel)
        channel.watch(lambda _verb, record: self.label(record.id, record.parent_id))
        self.channel = channel
        return channel

    def secrets(self) -> list[str]:
        return [CARD, CARD[:16], CARD.encode().hex()]

    def close(self) -> None:
        self.channel.close()
        self.close_all()


HARNESSES: dict[str, type[Harness]] = {
    f"mispos+serial-{name}": type(
        f"Mispos_{name.replace('-', '_')}",
        (MisposHarness,),
        {"name": f"mispos+serial ({name})", "profile": name},
    )
    for name in shipped_profiles()
}
