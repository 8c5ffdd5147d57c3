"""The janitor closes a ZVT terminal's day on schedule, over TCP to the terminal simulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time
from pathlib import Path

import pytest

from paychannels import Collector, ManualClock
from paychannels.channels.settlement import SettlementKind, recorded_settlements
from paychannels.operations.janitor import Janitor
from paychannels.operations.schedule import JanitorSchedule, JobKind, ScheduledJob
from tests.zvt.conftest import PASSWORD, Hall, hall_on

pytestmark = pytest.mark.slow


@pytest.fixture
def tcp_hall(tmp_path: Path) -> Iterator[Hall]:
    with hall_on(tmp_path, "tcp") as h:
        yield h


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


def test_a_failed_close_is_tried_again_after_a_pause_not_every_round(tcp_hall: Hall) -> None:
    clock = ManualClock(datetime.now(UTC))
    col = Collector.open(f"sqlite:///{tcp_hall.transcript.parent}/journal.db", clock=clock)
    try:
        col.add_channel("hall-1", tcp_hall.url, password=PASSWORD)
        schedule = JanitorSchedule((ScheduledJob("hall-1", JobKind.END_OF_DAY, time(0, 0)),))
        janitor = Janitor(col, schedule)
        tcp_hall.sim.close()  # the terminal is off
        [first] = janitor.round().jobs
        assert first.outcome == "failed"
        clock.advance(60)
        [waiting] = janitor.round().jobs  # not asked again a minute later
        assert waiting.outcome == "failed" and "tried again in 540 s" in waiting.detail
        assert waiting.detail.startswith(first.detail)
        clock.advance(541)
        [again] = janitor.round().jobs  # asked again: still off
        assert again.outcome == "failed" and "tried again" not in again.detail
    finally:
        col.close()
