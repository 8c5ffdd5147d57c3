"""Contract harnesses for ``MisposChannel``: the simulator over a real pty, one per shipped
profile (a profile added to ``drivers/mispos/profiles`` joins the suite by itself).

The simulator sends full card numbers, so the transcript test proves the spy masks them.
Ground truth per payment comes from the simulator's own journal: the channel's ``watch``
hook labels each booking request as it leaves, the terminal files the transaction under it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import ClassVar

from paychannels import Channel, Money, Record, open_channel
from paychannels.drivers.mispos.channel import MisposChannel
from paychannels.drivers.mispos.profile import shipped_profiles
from paychannels.drivers.mispos.profile_checks import load
from paychannels.simulators.terminal import Script, TerminalSimulator
from tests.contract.harnesses import Harness

CARD = "6222021234567890123"

_SCRIPTS = {
    "approve": Script(),
    "decline": Script(outcome="decline", result_code=0x05),
    "insufficient_funds": Script(outcome="insufficient_funds"),
    "refuse": Script(faults=frozenset({"nak_always"})),
    "lose_request": Script(faults=frozenset({"lose_request"})),
    "lose_reply": Script(faults=frozenset({"disconnect_after_approval"})),
    "garble_reply": Script(faults=frozenset({"garble_reply"})),
}


class MisposHarness(Harness):
    """A MIS-POS terminal simulator speaking ``profile`` on a pty."""

    profile: ClassVar[str]
    supports = frozenset(_SCRIPTS)

    def open(self) -> Channel:
        self.sim = TerminalSimulator(card=CARD)
        self._dir = tempfile.TemporaryDirectory(prefix="mispos-contract-")
        self.path = Path(self._dir.name) / "transcript.txt"
        pty = self.sim.serve_mispos(load(self.profile))
        url = f"mispos+serial://{pty}?profile={self.profile}&answer_timeout=1"
        channel = open_channel(url, transcript=self.path)
        assert isinstance(channel, MisposChannel)
        self.parents: dict[str, str] = {}
        channel.watch(self._label)
        self.channel = channel
        return channel

    def _label(self, verb: str, record: Record) -> None:
        self.sim.terminal.tag_next(record.id)
        if record.parent_id:
            self.parents[record.id] = record.parent_id

    def script(self, behaviour: str) -> None:
        self.sim.terminal.scripts.push(_SCRIPTS[behaviour])

    def charges(self, record: Record) -> int:
        return self.sim.terminal.journal.charges(tag=record.id)

    def refunded(self, record: Record) -> Money:
        refunds = {r for r, parent in self.parents.items() if parent == record.id}
        minor = sum(
            t.amount
            for t in self.sim.terminal.journal.txns
            if t.kind == "refund" and t.approved and t.tag in refunds
        )
        return Money.of_minor(minor, record.amount.currency)

    def transcript(self) -> str:
        return self.path.read_text(encoding="utf-8") if self.path.exists() else ""

    def secrets(self) -> list[str]:
        return [CARD, CARD[:16], CARD.encode().hex()]

    def close(self) -> None:
        self.channel.close()
        self.sim.close()
        self._dir.cleanup()


HARNESSES: dict[str, type[Harness]] = {
    f"mispos+serial-{name}": type(
        f"Mispos_{name.replace('-', '_')}",
        (MisposHarness,),
        {"name": f"mispos+serial ({name})", "profile": name},
    )
    for name in shipped_profiles()
}
