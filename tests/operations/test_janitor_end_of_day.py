"""The janitor closes a ZVT terminal's day on schedule, over TCP to the terminal simulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import time
from pathlib import Path

import pytest

from paychannels.channels.settlement import SettlementKind, recorded_settlements
from paychannels.operations.janitor import Janitor
from paychannels.operations.schedule import JanitorSchedule, JobKind, ScheduledJob
from tests.zvt.conftest import Hall, open_hall

pytestmark = pytest.mark.slow


@pytest.fixture
def tcp_hall(tmp_path: Path) -> Iterator[Hall]:
    h = open_hall(tmp_path, "tcp")
    yield h
    h.col.close()
    h.sim.close()


def test_the_terminal_day_is_closed_once_and_its_totals_recorded(tcp_hall: Hall) -> None:
    tcp_hall.pay("50.00")
    schedule = JanitorSchedule((ScheduledJob("hall-1", JobKind.END_OF_DAY, time(0, 0)),))
    janitor = Janitor(tcp_hall.col, schedule)
    [job] = janitor.round().jobs
    assert (job.outcome, job.detail) == ("done", "batch closed and its totals recorded")
    [again] = janitor.round().jobs
    assert again.outcome == "already done"
    [day] = recorded_settlements(tcp_hall.col.journal)["hall-1"]  # one batch closed, not two
    assert (day.kind, day.payments, day.net_minor) == (SettlementKind.TERMINAL, 1, 5000)
