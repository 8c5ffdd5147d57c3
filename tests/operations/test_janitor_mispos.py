"""The janitor closes a MIS-POS terminal's day (settlement, 结算) on schedule, once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import time
from pathlib import Path

import pytest

from paychannels.channels.settlement import SettlementKind, recorded_settlements
from paychannels.operations.janitor import Janitor
from paychannels.operations.schedule import JanitorSchedule, JobKind, ScheduledJob
from tests.mispos.conftest import Hall, open_hall, shipped_profiles

pytestmark = pytest.mark.slow


@pytest.fixture
def mis(tmp_path: Path) -> Iterator[Hall]:
    h = open_hall(tmp_path, shipped_profiles()[0], tcp=True)
    yield h
    h.close()


def test_the_mispos_batch_is_settled_once_and_recorded(mis: Hall) -> None:
    mis.pay("100.00")
    schedule = JanitorSchedule((ScheduledJob("mis", JobKind.END_OF_DAY, time(0, 0)),))
    janitor = Janitor(mis.col, schedule)
    [job] = janitor.round().jobs
    assert job.outcome == "done", job.detail
    assert [j.outcome for j in janitor.round().jobs] == ["already done"]
    [figures] = recorded_settlements(mis.col.journal)["mis"]
    assert (figures.kind, figures.batch, figures.net_minor) == (
        SettlementKind.TERMINAL,
        "000001",
        10000,
    )
