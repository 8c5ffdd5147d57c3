"""The janitor fetches a cloud POS acquirer's report of yesterday from the nexo simulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import time, timedelta
from pathlib import Path

import pytest

from paychannels.channels.settlement import SettlementKind, recorded_settlements
from paychannels.operations.janitor import Janitor
from paychannels.operations.schedule import JanitorSchedule, JobKind, ScheduledJob
from tests.nexo.conftest import Hall, open_hall

pytestmark = pytest.mark.slow


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Hall]:
    h = open_hall(tmp_path)
    yield h
    h.close()


def test_the_acquirer_report_of_yesterday_is_recorded_once_a_day(cloud: Hall) -> None:
    schedule = JanitorSchedule((ScheduledJob("cloud", JobKind.ACQUIRER_REPORT, time(0, 0)),))
    janitor = Janitor(cloud.col, schedule)
    [job] = janitor.round().jobs
    yesterday = job.day - timedelta(days=1)
    assert (job.outcome, job.detail) == ("done", f"acquirer report of {yesterday} recorded")
    [report] = recorded_settlements(cloud.col.journal)["cloud"]
    assert (report.kind, report.key) == (SettlementKind.PROVIDER, yesterday.isoformat())
    assert [j.outcome for j in janitor.round().jobs] == ["already done"]
