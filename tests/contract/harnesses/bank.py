"""Contract harness for the bank channel: a real exchange folder and the bank simulator.

A payment is spooled (PENDING); ``finish_pending`` lets the channel write its request file,
the simulated bank answer it, and the channel read the answer back. ``refuse`` makes the
exchange folder unusable for one payment (a mount that is gone: provably nothing sent).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from paychannels import Channel, Collector, Payment, Record
from paychannels.bankfiles.model import Creditor
from paychannels.channels.bank import BankBatchChannel
from paychannels.channels.bank.formats import open_format
from paychannels.simulators.bank import BankSimulator, Mix
from tests.contract.harnesses import Harness

_BEHAVIOURS = {
    "approve": "ok",
    "decline": "decline",
    "insufficient_funds": "insufficient_funds",
    "pending": "unreported",
}
CREDITOR = Creditor(
    name="社保局", account="15050171001234567890", bank="105191000011", msg_prefix="CT"
)


def _mandate(payment: Payment) -> Mapping[str, str]:
    """The backend's record of the payer's debit agreement."""
    digits = "".join(c for c in payment.payer_id if c.isdigit())[-12:]
    return {
        "account": f"6217{digits:0>12}",
        "bank": "105191000011",
        "mandate_id": f"DK{digits}",
        "mandate_date": "2025-03-01",
    }


class BankHarness(Harness):
    """pain.008.001.08 out, pain.002.001.10 back, through folders."""

    name = "bank"
    supports = frozenset({*_BEHAVIOURS, "refuse"})

    def open(self) -> Channel:
        self.root = Path(tempfile.mkdtemp(prefix="pc-bank-"))
        self.channel = BankBatchChannel(
            self.root / "exchange",
            format=open_format("pain.008.001.08"),
            creditor=CREDITOR,
            mandates=_mandate,
        )
        self.sim = BankSimulator(
            self.channel.exchange.outbox,
            self.channel.exchange.inbox,
            state=self.root / "bank",
            mix=Mix(),
            reply="pain.002.001.10",
        )
        self.broken = False
        return self.channel

    def script(self, behaviour: str) -> None:
        spool = self.channel.exchange.spool
        if behaviour == "refuse":
            shutil.rmtree(spool, ignore_errors=True)
            spool.write_text("the exchange mount is gone")
            self.broken = True
            return
        if self.broken:
            spool.unlink()
            self.broken = False
        self.sim.mix.script.append(_BEHAVIOURS[behaviour])

    def charges(self, record: Record) -> int:
        return self.sim.charges(record.id.removeprefix("pay_"))

    def finish_pending(self, collector: Collector, record: Record, *, paid: bool) -> None:
        if not paid and not self.sim.mix.script:
            self.sim.mix.script.append("decline")
        collector.poll(record.channel)
        self.sim.process_once()
        collector.poll(record.channel)

    def close(self) -> None:
        self.sim.close()
        shutil.rmtree(self.root, ignore_errors=True)


HARNESSES: dict[str, type[Harness]] = {"bank": BankHarness}
