"""The janitor fetches the providers' bills over real HTTP from the provider simulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest

from paychannels.channels.settlement import SettlementKind, recorded_settlements
from paychannels.operations.janitor import Janitor
from paychannels.operations.schedule import JanitorSchedule, JobKind, ScheduledJob
from paychannels.runtime.clock import BEIJING
from tests.contract.harnesses.mobile import sim_keys
from tests.providers.support import Stack

pytestmark = pytest.mark.slow


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    s = Stack.build(sim_keys(), f"sqlite:///{tmp_path}/j.db")
    yield s
    s.close()


def test_each_provider_bill_of_yesterday_is_recorded_once_a_day(stack: Stack) -> None:
    schedule = JanitorSchedule(
        (
            ScheduledJob("wx", JobKind.BILL, time(0, 0)),
            ScheduledJob("ali", JobKind.BILL, time(0, 0)),
        )
    )
    janitor = Janitor(stack.collector, schedule)
    first = janitor.round()
    assert [(j.channel, j.outcome) for j in first.jobs] == [("wx", "done"), ("ali", "done")]
    [day] = {j.day for j in first.jobs}  # the county's today when the round ran
    assert abs(day - datetime.now(BEIJING).date()) <= timedelta(days=1)
    yesterday = day - timedelta(days=1)
    recorded = recorded_settlements(stack.collector.journal)
    for name in ("wx", "ali"):
        [bill] = recorded[name]
        assert (bill.kind, bill.key) == (SettlementKind.PROVIDER, yesterday.isoformat())
    again = janitor.round()
    assert [j.outcome for j in again.jobs] == ["already done", "already done"]
