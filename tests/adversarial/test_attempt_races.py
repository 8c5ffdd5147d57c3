"""Races between backends over one payment: an answer applies only to the attempt it is about.

Each race is played in a fixed order through gates in the channel (``gates.py``), by
Collectors of their own on one journal and one device ledger, first as threads of this
process, then as real child processes, on SQLite and on PostgreSQL. The device's ledger
is the judge: money taken or given back once, and the journal agrees with it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from paychannels import Collector, Status
from paychannels.channels.ledger import FileLedger
from paychannels.channels.memory import Behaviour
from paychannels.values.models import EventType
from tests.adversarial.backends import (
    AMOUNT,
    REQUEST,
    Background,
    in_process,
    in_thread,
    open_backend,
)
from tests.adversarial.gates import GatedChannel, Gates
from tests.conftest import pg_schema

Spawn = Callable[..., Background]
NOT_PAID = {Status.DECLINED, Status.EXPIRED, Status.CANCELLED, Status.NOT_SENT}


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/journal.db"
    else:
        with pg_schema() as url:
            yield url


@pytest.fixture(params=["threads", "processes"])
def spawn(request: pytest.FixtureRequest) -> Spawn:
    return in_thread if request.param == "threads" else in_process


class Race:
    """The stage: a journal, a device ledger, gates, and the test's own backend."""

    def __init__(self, db: str, tmp: Path, spawn: Spawn) -> None:
        self.db, self.ledger_path = db, tmp / "device.db"
        self.device = FileLedger(self.ledger_path)
        self.gates = Gates(tmp / "gates")
        self._spawn = spawn
        self.main = open_backend(db, self.ledger_path, self.gates)

    def script(self, *behaviours: Behaviour) -> None:
        channel = self.main.channel("hall")
        assert isinstance(channel, GatedChannel)
        channel.device.script(*behaviours)

    def spawn(self, role: str, pause: str, arg: str = "") -> Background:
        return self._spawn(self.db, self.ledger_path, self.gates, role, pause, arg)

    def stale_notes(self, record_id: str) -> list[dict[str, object]]:
        return [
            e.data
            for e in self.main.events(payment_id=record_id)
            if e.type is EventType.NOTE and e.data.get("stale")
        ]


@pytest.fixture
def race(db: str, tmp_path: Path, spawn: Spawn) -> Iterator[Race]:
    Collector.open(db, create=True).close()  # migrate once, before any racer opens it
    stage = Race(db, tmp_path, spawn)
    yield stage
    stage.gates.release_all()
    stage.main.close()


@pytest.mark.slow
def test_two_recoveries_a_stale_no_record_never_lands_on_the_retry(race: Race) -> None:
    race.script(Behaviour.LOSE_REQUEST)  # sent, the device never saw it: UNKNOWN
    pay = race.main.collect(REQUEST, channel="hall")
    assert pay.status is Status.UNKNOWN and pay.attempt == 1
    slow = race.spawn("recover", pause="inquire")
    race.gates.reached("inquire")  # the slow recovery holds "no record" about attempt 1
    race.main.recover()
    assert race.main.status(pay.id).status is Status.NOT_SENT
    retry = race.spawn("collect", pause="start")  # the backend retries: attempt 2 charges
    race.gates.reached("start")
    race.gates.release("inquire")
    slow.result()
    during = race.main.status(pay.id)
    again = race.main.collect(REQUEST, channel="hall")  # the backend retries once more
    race.gates.release("start")
    assert retry.result() == "SUCCEEDED"
    assert race.device.get(pay.id).charges == 1, "the payer was charged twice"  # type: ignore[union-attr]
    assert during.status is Status.DISPATCHED and during.attempt == 2
    assert again.status is Status.DISPATCHED
    final = race.main.status(pay.id)
    assert final.status is Status.SUCCEEDED and final.attempt == 2 and not final.attention
    [note] = race.stale_notes(pay.id)
    assert note["about_attempt"] == 1 and note["attempt"] == 2 and note["reported"] == "NOT_SENT"


@pytest.mark.slow
def test_cancel_during_dispatch_never_ends_not_paid_while_the_device_charges(race: Race) -> None:
    cashier = race.spawn("collect", pause="start.before")  # claimed, the device not yet asked
    race.gates.reached("start.before")
    record = race.main.journal.get_by_key(REQUEST.idempotency_key)
    assert record is not None and record.status is Status.DISPATCHED
    cancelled = race.main.cancel(record.id)
    assert cancelled.status not in NOT_PAID, f"cancel made it {cancelled.status} mid-dispatch"
    race.gates.release("start.before")  # the device charges after all
    assert cashier.result() == "SUCCEEDED", "collect() told the cashier the payment failed"
    final = race.main.status(record.id)
    assert final.status is Status.SUCCEEDED and not final.attention
    assert race.device.get(record.id).charges == 1  # type: ignore[union-attr]
    kinds = [(e.type, e.data.get("via")) for e in race.main.events(payment_id=record.id)]
    assert (EventType.NOTE, "cancel") in kinds, "the abort request is journaled"


@pytest.mark.slow
def test_refund_racing_recover_gives_money_back_once_and_keeps_the_refund(race: Race) -> None:
    pay = race.main.collect(REQUEST, channel="hall")
    assert pay.status is Status.SUCCEEDED
    race.script(Behaviour.LOSE_REQUEST)
    first = race.main.refund(pay.id, AMOUNT)
    assert first.status is Status.UNKNOWN
    slow = race.spawn("recover", pause="inquire")
    race.gates.reached("inquire")  # "no record" of the refund, about its attempt 1
    race.main.recover()
    assert race.main.status(first.id).status is Status.NOT_SENT
    retry = race.spawn("refund", pause="refund", arg=pay.id)  # attempt 2 gives money back
    race.gates.reached("refund")
    race.gates.release("inquire")
    json.loads(slow.result())
    again = race.main.refund(pay.id, AMOUNT)  # the backend retries once more
    race.gates.release("refund")
    assert retry.result() == "SUCCEEDED"
    given_back = race.device.get(pay.id).refunded_minor  # type: ignore[union-attr]
    assert given_back == AMOUNT.minor, f"{given_back} given back for one refund of 2500"
    assert again.id == first.id
    refunds = race.main.find(parent_id=pay.id)
    assert [(r.id, r.status) for r in refunds] == [(first.id, Status.SUCCEEDED)]
    assert len(race.stale_notes(first.id)) == 1


@pytest.mark.slow
def test_refund_retried_without_amount_resends_the_refund_that_never_left(race: Race) -> None:
    pay = race.main.collect(REQUEST, channel="hall")
    race.script(Behaviour.REFUSE)  # connection refused: the refund provably never left
    first = race.main.refund(pay.id)
    assert first.status is Status.NOT_SENT
    again = race.main.refund(pay.id)  # the backend's retry, as it first called it
    assert (again.id, again.status) == (first.id, Status.SUCCEEDED)
    assert race.device.get(pay.id).refunded_minor == AMOUNT.minor  # type: ignore[union-attr]
