"""The journal against the simulated terminal's own ledger: 0 doubled, 0 lost.

A payment the journal calls SUCCEEDED must be exactly one approved, unreversed payment in
the terminal's journal (tagged with its id as its command left); every other journaled
payment none; and the terminal holds no charge the journal does not know (an untagged
charge is a command the terminal booked twice or behind the journal's back).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from paychannels import Collector, Status
from paychannels.simulators.terminal import SimTerminal

__all__ = ["Comparison", "compare"]


@dataclass(frozen=True)
class Comparison:
    """What the two ledgers say, payment by payment."""

    payments: int
    doubled: list[str]
    lost: list[str]
    unknown_charges: int

    def assert_balanced(self) -> None:
        assert (self.doubled, self.lost, self.unknown_charges) == ([], [], 0), self


def compare(
    col: Collector,
    terminal: SimTerminal,
    *,
    channels: set[str] | None = None,
    others: tuple[Collector, ...] = (),
) -> Comparison:
    """Compare every payment of ``channels`` (all if None) with the terminal's charges;
    ``others`` are journals that book on the same terminal (their charges are not strangers)."""
    charged = Counter(
        t.tag
        for t in terminal.journal.txns
        if t.kind == "payment" and t.approved and not t.reversed
    )
    journaled = col.find(kind="payment", limit=10_000)
    records = [r for r in journaled if channels is None or r.channel in channels]
    known = {r.id for c in (col, *others) for r in c.find(kind="payment", limit=10_000)}
    doubled, lost = [], []
    for record in records:
        taken = charged.pop(record.id, 0)
        expected = 1 if record.status is Status.SUCCEEDED else 0
        if taken > expected:
            doubled.append(f"{record.id} {record.status.value} charged {taken}")
        elif taken < expected:
            lost.append(f"{record.id} {record.status.value} charged {taken}")
    # a charge tagged with no journaled payment's id is the terminal's alone, like an
    # untagged one (another channel's payments, left out by ``channels``, are not strangers)
    strangers = sum(n for tag, n in charged.items() if tag is None or tag not in known)
    return Comparison(len(records), doubled, lost, strangers)
