"""Business days for collection dates: weekends, public holidays and Chinese make-up days.

China moves working days around its holidays (调休): a Saturday or Sunday can be a working
day, a weekday a holiday. A ``BusinessCalendar`` is data — a TOML file with ``holidays`` and
``workdays`` (the make-up days) per year — so next year's official schedule is an edit, not
a release. ``cn`` ships with the library; pass your own file to replace or extend it. Dates
outside the years the file covers fall back to plain weekends, and ``covers`` says so.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib.resources import files
from pathlib import Path

from paychannels.errors import ConfigurationError

__all__ = ["BusinessCalendar", "load_calendar"]


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


def _dates(values: object, where: str) -> set[date]:
    if not isinstance(values, list):
        raise ConfigurationError(f"{where} must be a list of dates")
    out: set[date] = set()
    for value in values:
        if isinstance(value, date):
            out.add(value)
            continue
        try:
            first, _, last = str(value).partition("..")
            start = date.fromisoformat(first)
            end = date.fromisoformat(last) if last else start
        except ValueError:
            raise ConfigurationError(
                f"{where}: {value!r} is not a date or a 'from..to' range"
            ) from None
        if end < start:
            raise ConfigurationError(f"{where}: {value!r} ends before it starts")
        out.update(start + timedelta(days=i) for i in range((end - start).days + 1))
    return out


def _parse(text: str, where: str) -> BusinessCalendar:
    try:
        data = tomllib.loads(text)
        holidays: set[date] = set()
        workdays: set[date] = set()
        years: set[int] = set()
        for key, table in data.get("year", {}).items():
            years.add(int(key))
            holidays |= _dates(table.get("holidays", []), f"{where} year {key} holidays")
            workdays |= _dates(table.get("workdays", []), f"{where} year {key} workdays")
    except (tomllib.TOMLDecodeError, ValueError, AttributeError) as exc:
        raise ConfigurationError(f"{where}: {exc}") from None
    both = holidays & workdays
    if both:
        raise ConfigurationError(f"{where}: {min(both)} is both a holiday and a working day")
    return BusinessCalendar(
        str(data.get("name", where)), frozenset(holidays), frozenset(workdays), frozenset(years)
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
