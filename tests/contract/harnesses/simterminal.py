"""What the harnesses of the simulated terminal's serial and TCP fronts share (no harness here).

Ground truth per payment comes from the simulator's own journal: the channel labels each
booking command as it leaves (its ``watch`` hook), the terminal files the transaction under
that label; refunds are matched to their payment through the labels' parents.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import ClassVar

from paychannels import Money, Record
from paychannels.simulators.terminal import Script, TerminalSimulator
from tests.contract.harnesses import Harness

CARD = "6222021234567890123"


class SimTerminalHarness(Harness):
    """A channel to ``self.sim`` whose transcript goes to ``self.path``; see the docstring."""

    scripts: ClassVar[dict[str, Script]]
    sim: TerminalSimulator

    def start_transcript(self, prefix: str) -> Path:
        self._dir = tempfile.TemporaryDirectory(prefix=prefix)
        self.path = Path(self._dir.name) / "transcript.txt"
        self.parents: dict[str, str] = {}
        return self.path

    def label(self, record_id: str, parent_id: str | None) -> None:
        """The command for ``record_id`` is leaving: file what the terminal books under it."""
        self.sim.terminal.tag_next(record_id)
        if parent_id:
            self.parents[record_id] = parent_id

    def script(self, behaviour: str) -> None:
        self.sim.terminal.scripts.push(self.scripts[behaviour])

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

    def close_all(self) -> None:
        self.sim.close()
        self._dir.cleanup()
