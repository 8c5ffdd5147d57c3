"""Business days for collection dates: weekends, public holidays and Chinese make-up days.

China moves working days around its holidays (调休): a Saturday or Sunday can be a working
day, a weekday a holiday. A ``BusinessCalendar`` is data — a TOML file with ``holidays`` and
``workdays`` (the make-up days) per year — so next year's official schedule is an edit, not
a release. ``cn`` ships with the library; pass your own file to replace or extend it. Dates
outside the years the file covers fall back to plain weekends, and ``covers`` says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field, PlainValidator, WithJsonSchema

from paychannels.values.configfile import FileModel, configuration_error, read
from paychannels.values.errors import ConfigurationError

__all__ = ["BusinessCalendar", "CalendarFile", "load_calendar"]


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """Which days a bank collects on."""

    name: str
    holidays: frozenset[date]
    workdays: frozenset[date]
    years: frozenset[int]

    def is_business_day(self, day: date) -> bool:
        """A make-up working day counts even on a weekend; a holiday never does."""
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def covers(self, day: date) -> bool:
        """Whether the calendar has data for ``day``'s year (else only weekends are known)."""
        return day.year in self.years

    def next_business_day(self, day: date, *, after: int = 0) -> date:
        """The first business day on or after ``day`` that is at least ``after`` business
        days later (``after=0``: ``day`` itself if it is one)."""
        current = day
        while not self.is_business_day(current):
            current += timedelta(days=1)
        for _ in range(after):
            current += timedelta(days=1)
            while not self.is_business_day(current):
                current += timedelta(days=1)
        return current


def _day_spec(value: object) -> date | str:
    """A TOML date, or text: an ISO date or an inclusive ``from..to`` range."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        _days(value)
        return value
    raise ValueError("must be a date (2027-01-01) or a 'from..to' range of dates")


def _days(value: date | str) -> list[date]:
    if isinstance(value, date):
        return [value]
    try:
        first, _, last = value.partition("..")
        start = date.fromisoformat(first)
        end = date.fromisoformat(last) if last else start
    except ValueError:
        raise ValueError(f"{value!r} is not a date or a 'from..to' range") from None
    if end < start:
        raise ValueError(f"{value!r} ends before it starts")
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _year(value: str) -> str:
    if not (len(value) == 4 and value.isascii() and value.isdigit()):
        raise ValueError("must be a year of four digits, as in [year.2027]")
    return value


DaySpec = Annotated[
    date | str,
    PlainValidator(_day_spec),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d{4}-\d{2}-\d{2}(\.\.\d{4}-\d{2}-\d{2})?$",
            "description": "a date or an inclusive 'from..to' range",
        }
    ),
]


class CalendarYear(FileModel):
    """One year's public holidays and make-up working days (调休)."""

    holidays: list[DaySpec] = Field(default_factory=list)
    workdays: list[DaySpec] = Field(default_factory=list)


class CalendarFile(FileModel):
    """A calendar file: its name and, per year (``[year.2027]``), the days that differ."""

    name: str | None = None
    year: dict[Annotated[str, AfterValidator(_year)], CalendarYear] = Field(
        default_factory=dict, json_schema_extra={"propertyNames": {"pattern": "^[0-9]{4}$"}}
    )


def _parse(text: str, where: str) -> BusinessCalendar:
    data = read(CalendarFile, text, source=where, fail=configuration_error)
    holidays: set[date] = set()
    workdays: set[date] = set()
    for table in data.year.values():
        holidays.update(day for spec in table.holidays for day in _days(spec))
        workdays.update(day for spec in table.workdays for day in _days(spec))
    both = holidays & workdays
    if both:
        raise ConfigurationError(f"{where}: {min(both)} is both a holiday and a working day")
    return BusinessCalendar(
        data.name or where,
        frozenset(holidays),
        frozenset(workdays),
        frozenset(int(key) for key in data.year),
    )


@cache
def _shipped(name: str) -> BusinessCalendar:
    resource = files("paychannels.bankfiles").joinpath(f"data/calendar-{name}.toml")
    if not resource.is_file():
        raise ConfigurationError(f"no shipped calendar {name!r} (shipped: cn, weekends)")
    return _parse(resource.read_text("utf-8"), f"calendar {name}")


def load_calendar(source: str | Path = "cn") -> BusinessCalendar:
    """A shipped calendar by name (``cn``, ``weekends``) or a TOML file by path."""
    path = Path(source)
    if path.suffix == ".toml":
        try:
            return _parse(path.read_text("utf-8"), str(path))
        except OSError as exc:
            raise ConfigurationError(f"cannot read calendar {path}: {exc.strerror}") from None
    return _shipped(str(source))
