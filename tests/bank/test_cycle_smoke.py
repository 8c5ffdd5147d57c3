"""A small end-to-end cycle per format: collect -> spool -> file -> simulator -> results."""

from __future__ import annotations

from collections import deque
from itertools import cycle, islice
from pathlib import Path

import pytest

from paychannels import Collector, Status
from paychannels.channels.bank import BankBatchChannel, from_url
from paychannels.channels.settlement import recorded_settlements
from paychannels.simulators.bank import BankSimulator, Mix
from paychannels.values.urls import parse_url
from tests.bank.conftest import CREDITOR, bank_request, clock

# Payment ids are random, and the mix draws from a hash of each debit's reference: weights alone
# leave no "unreported" debit in about one run of 200, so the outcomes are scripted.
_OUTCOMES = ["ok", "insufficient_funds", "ok", "closed", "ok", "partial", "ok", "unreported"]


def scripted_mix(debits: int) -> Mix:
    """Every outcome the cycle asserts, in fixed proportions whatever the payment ids."""
    return Mix(script=deque(islice(cycle(_OUTCOMES), debits)))


@pytest.mark.parametrize("fmt", ["pain.008.001.08", "pain.008.001.02", "icbc-fixed", "ccb-pipe"])
@pytest.mark.parametrize("reply", ["camt.054", "pain.002.001.03"])
@pytest.mark.slow
def test_small_cycle(tmp_path: Path, fmt: str, reply: str) -> None:
    ch = from_url(parse_url(f"bankfile+dir://{tmp_path}/x?format={fmt}"), creditor=CREDITOR)
    assert isinstance(ch, BankBatchChannel)
    col = Collector.open(f"sqlite:///{tmp_path}/j.db", clock=clock(), create=True)
    col.add_channel("bank", ch)
    sim = BankSimulator(
        ch.exchange.outbox,
        ch.exchange.inbox,
        state=tmp_path / "sim",
        mix=scripted_mix(50),
        reply=reply,
    )
    results = col.collect_many([bank_request(i) for i in range(50)], channel="bank")
    assert {r.status for r in results} == {Status.PENDING}
    col.poll("bank")
    assert len(list(ch.exchange.outbox.iterdir())) == 1
    written = sim.process_once()
    assert written
    polled = col.poll("bank")
    assert all(s.error is None for s in polled.reports), [s.error for s in polled.reports]
    counts = col.journal.count_by_status()
    assert (
        counts.get(Status.SUCCEEDED) and counts.get(Status.DECLINED) and counts.get(Status.PENDING)
    )
    assert sum(counts.values()) == 50
    assert sim.taken_minor() == sum(
        r.amount_taken.minor
        for r in col.find(statuses=[Status.SUCCEEDED], limit=100)
        if r.amount_taken
    )
    # each result file is recorded with the bank's own figures, for reconciliation
    stated = recorded_settlements(col.journal)["bank"]
    assert len(stated) == len(written)
    assert sum(s.net_minor for s in stated) == sim.taken_minor()
    assert sum(s.payments or 0 for s in stated) == counts[Status.SUCCEEDED]
    assert sum(int(s.detail["failed"]) for s in stated) == counts[Status.DECLINED]  # type: ignore[call-overload]


@pytest.mark.parametrize("reply", ["camt.054", "pain.002.001.03", "pain.002.001.10"])
@pytest.mark.slow
def test_the_simulators_answers_are_valid_iso20022(tmp_path: Path, reply: str) -> None:
    from paychannels.bankfiles.xmlread import namespace_of
    from tests.bank.xsd import assert_valid

    ch = from_url(
        parse_url(f"bankfile+dir://{tmp_path}/x?format=pain.008.001.02"), creditor=CREDITOR
    )
    col = Collector.open(f"sqlite:///{tmp_path}/j.db", clock=clock(), create=True)
    col.add_channel("bank", ch)
    mix = Mix({"insufficient_funds": 0.2, "closed": 0.1, "partial": 0.1, "late_return": 0.2})
    sim = BankSimulator(
        ch.exchange.outbox, ch.exchange.inbox, state=tmp_path / "sim", mix=mix, reply=reply
    )
    col.collect_many([bank_request(i) for i in range(40)], channel="bank")
    col.poll("bank")
    answers = sim.process_once()
    kinds = set()
    for path in answers:
        message = namespace_of(path).rpartition(":")[2]
        kinds.add(message[:8])
        assert_valid(path, message)
    assert kinds == {"pain.002", "camt.054"}  # camt.054: bookings, or the late returns
    sim.close()
    col.close()


@pytest.mark.slow
def test_late_returns_count_against_what_the_bank_holds(tmp_path: Path) -> None:
    ch = from_url(
        parse_url(f"bankfile+dir://{tmp_path}/x?format=pain.008.001.08"), creditor=CREDITOR
    )
    col = Collector.open(f"sqlite:///{tmp_path}/j.db", clock=clock(), create=True)
    col.add_channel("bank", ch)
    mix = Mix({"late_return": 0.3, "insufficient_funds": 0.1})
    sim = BankSimulator(
        ch.exchange.outbox, ch.exchange.inbox, state=tmp_path / "sim", mix=mix, reply="camt.054"
    )
    col.collect_many([bank_request(i) for i in range(40)], channel="bank")
    col.poll("bank")
    sim.process_once()
    col.poll("bank")
    stated = recorded_settlements(col.journal)["bank"]
    counts = col.journal.count_by_status()
    assert sum(s.refunds or 0 for s in stated) == counts[Status.REVERSED] > 0
    assert sum(s.net_minor for s in stated) == sim.taken_minor()
    sim.close()
    col.close()
