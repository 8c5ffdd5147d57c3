"""The demo's MIS-POS hall terminal: a township hall with a bank's terminal on a serial line.

The same simulated terminal core as the ZVT halls, speaking a shipped MIS-POS profile on a
pseudo-terminal at the profile's line settings. Its faults are a lost answer and a garbled
one (resolved by "query last transaction") and a declined card; it settles with 结算, which
records the batch's figures for ``paychannels reconcile``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from paychannels.channels.base import Channel
from paychannels.collector import Collector
from paychannels.demo.sims import Observed, Running, Stage
from paychannels.drivers.mispos.channel import MisposChannel
from paychannels.drivers.mispos.profile_checks import load
from paychannels.simulators.terminal import Script, TerminalSimulator
from paychannels.values.models import Record
from paychannels.values.money import Money

__all__ = ["MisposSim"]

PROFILE = "fs-delimited"
#: what each demo fault name does on the MIS-POS terminal
FAULTS = {
    "lost answer": Script(faults=frozenset({"disconnect_after_approval"})),
    "garbled answer": Script(faults=frozenset({"garble_reply"})),
    "declined card": Script(outcome="insufficient_funds"),
}


class MisposSim(Running):
    """A MIS-POS terminal simulator on a pseudo-terminal (a serial line)."""

    faults = tuple(FAULTS)
    VERBS = Running.VERBS | {"tag"}

    def __init__(self, stage: Stage) -> None:
        del stage
        self.sim = TerminalSimulator()
        spec = load(PROFILE)  # the simulated terminal resends an unacknowledged answer soon
        quick = replace(spec, frame=replace(spec.frame, ack_timeout=0.3))
        path = self.sim.serve_mispos(quick)
        self.url = f"mispos+serial://{path}?profile={PROFILE}&answer_timeout=2"
        self.options: dict[str, Any] = {}

    @staticmethod
    def watch(channel: Channel, call: Callable[..., object]) -> None:
        """Each booking request names its record: the terminal tags what it books next."""
        assert isinstance(channel, MisposChannel)

        def label(verb: str, record: Record) -> None:
            del verb
            call("tag", record.id)

        channel.watch(label)

    def tag(self, record_id: str) -> None:
        """What the terminal books next is ``record_id``'s (the truth check's key)."""
        self.sim.terminal.tag_next(record_id)

    def inject(self, fault: str) -> None:
        self.sim.terminal.scripts.push(FAULTS[fault])

    def after(self, fault: str, payment: str | None) -> Observed | None:
        del fault, payment
        deadline = time.monotonic() + 5.0  # bounded: the terminal is back within seconds
        while not self.sim.terminal.powered and time.monotonic() < deadline:
            time.sleep(0.05)
        self.sim.terminal.scripts.clear()  # a fault the payment never reached is dropped
        return None

    def settle(self, collector: Collector, name: str) -> str:
        ch = collector.channel(name)
        assert isinstance(ch, MisposChannel)
        fields = ch.settle(collector.channel_context(name))
        total = Money.of_minor(int(fields.get("amount") or 0), ch.currency.code)
        return f"settlement (结算) of batch {fields.get('batch')}: net {total}"

    def truth(self) -> dict[str, int]:
        taken: dict[str, int] = {}
        for t in self.sim.terminal.journal.txns:
            if t.kind == "payment" and t.approved and not t.reversed:
                key = t.tag or f"trace:{t.trace}"  # untagged: nobody asked for it
                taken[key] = taken.get(key, 0) + 1
        return taken

    def close(self) -> None:
        self.sim.close()
