"""Contract harness for the memory channel: the reference implementation of the contract."""

from __future__ import annotations

from paychannels import Channel, Collector, MemoryChannel, Money, Record
from tests.contract.harnesses import Harness


class MemoryHarness(Harness):
    """The in-memory channel: the reference implementation of the contract."""

    name = "memory"

    def open(self) -> Channel:
        self.channel = MemoryChannel()
        return self.channel

    def script(self, behaviour: str) -> None:
        self.channel.script(behaviour)

    def charges(self, record: Record) -> int:
        return self.channel.charges(record.id)

    def refunded(self, record: Record) -> Money:
        entry = self.channel.ledger.get(record.id)
        return Money.of_minor(entry.refunded_minor if entry else 0, record.amount.currency)

    def finish_pending(self, collector: Collector, record: Record, *, paid: bool) -> None:
        collector.handle_notice(record.channel, self.channel.settle(record.id, paid=paid))


HARNESSES: dict[str, type[Harness]] = {"memory": MemoryHarness}
