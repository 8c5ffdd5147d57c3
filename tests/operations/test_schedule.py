"""The janitor's schedule: typed entries, read in the county's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from paychannels.operations.schedule import JanitorSchedule, JobKind, ScheduledJob
from paychannels.values.errors import ConfigurationError


def test_entries_parse_into_typed_jobs() -> None:
    s = JanitorSchedule.parse(["wx=bill@10:00", "pos-1=end-of-day@22:30"], zone="Asia/Shanghai")
    assert s.jobs == (
        ScheduledJob("wx", JobKind.BILL, time(10, 0)),
        ScheduledJob("pos-1", JobKind.END_OF_DAY, time(22, 30)),
    )
    assert [str(j) for j in s.jobs] == ["wx=bill@10:00", "pos-1=end-of-day@22:30"]


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ("wx=bill", "expected CHANNEL=KIND@HH:MM"),
        ("wx=lunch@12:00", "unknown job kind 'lunch'"),
        ("wx=bill@24:00", "no such time of day"),
        ("=bill@10:00", "expected CHANNEL=KIND@HH:MM"),
    ],
)
def test_a_bad_entry_is_a_typed_error_naming_it(entry: str, says: str) -> None:
    with pytest.raises(ConfigurationError, match=says) as caught:
        ScheduledJob.parse(entry)
    assert repr(entry) in str(caught.value)


def test_the_same_job_twice_and_an_unknown_zone_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="twice"):
        JanitorSchedule.parse(["wx=bill@10:00", "wx=bill@11:00"])
    with pytest.raises(ConfigurationError, match="unknown time zone"):
        JanitorSchedule.parse([], zone="Mars/Olympus")


def test_due_reads_the_time_and_the_day_in_the_county() -> None:
    s = JanitorSchedule.parse(["wx=bill@10:00", "pos=end-of-day@22:00"])
    # 01:59 UTC is 09:59 in Beijing: nothing due yet
    assert s.due(datetime(2026, 12, 7, 1, 59, tzinfo=UTC)) == []
    [(job, day)] = s.due(datetime(2026, 12, 7, 2, 0, tzinfo=UTC))
    assert (job.kind, day) == (JobKind.BILL, date(2026, 12, 7))
    # 16:30 UTC on the 6th is already 00:30 on the 7th in Beijing: the county's day counts
    assert s.due(datetime(2026, 12, 6, 16, 30, tzinfo=UTC)) == []
    late = s.due(datetime(2026, 12, 7, 14, 0, tzinfo=UTC))  # 22:00 in Beijing
    assert [(j.kind, d) for j, d in late] == [
        (JobKind.BILL, date(2026, 12, 7)),
        (JobKind.END_OF_DAY, date(2026, 12, 7)),
    ]
    utc = JanitorSchedule.parse(["wx=bill@10:00"], zone="UTC")
    assert utc.due(datetime(2026, 12, 7, 9, 59, tzinfo=UTC)) == []
