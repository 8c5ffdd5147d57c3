"""The county's clock: the one time zone in which notices, reports, settlement rows and the
demo date things and which they show beside the date.

A list posted at 07:30 in the county is dated that day, whatever zone the server runs in (a
UTC server would say yesterday until 08:00 Beijing time). Default ``Asia/Shanghai``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from paychannels.runtime.clock import Clock, SystemClock
from paychannels.values.errors import ConfigurationError

__all__ = ["DEFAULT_ZONE", "CountyTime", "zone_named"]

#: China Standard Time (UTC+8 all year), the counties this library was built for
DEFAULT_ZONE = "Asia/Shanghai"


def zone_named(name: str) -> tzinfo:
    """The time zone ``name`` (IANA); China's is UTC+8 all year, so that is used where the
    system has no zone database (a slim container). An unknown name is a ConfigurationError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        if name == DEFAULT_ZONE:
            return timezone(timedelta(hours=8), "CST")
        raise ConfigurationError(f"unknown time zone {name!r} (e.g. {DEFAULT_ZONE})") from None


@dataclass(frozen=True)
class CountyTime:
    """The county's time zone read from a clock: ``today()``, a moment's ``local`` time and
    the ``stamp`` a clerk reads on a notice or report (with the zone named)."""

    zone_name: str = DEFAULT_ZONE
    clock: Clock = field(default_factory=SystemClock, compare=False)

    def __post_init__(self) -> None:
        zone_named(self.zone_name)  # an unknown zone fails where it is configured

    @property
    def zone(self) -> tzinfo:
        """The zone itself."""
        return zone_named(self.zone_name)

    def now(self) -> datetime:
        """The time now, in the county."""
        return self.clock.now().astimezone(self.zone)

    def today(self) -> date:
        """The county's date now (not the server's)."""
        return self.now().date()

    def local(self, moment: datetime) -> datetime:
        """``moment`` (timezone-aware) in the county's zone."""
        return moment.astimezone(self.zone)

    def day(self, moment: datetime) -> date:
        """The county's date of ``moment``: the day a settlement row or a bill belongs to."""
        return self.local(moment).date()

    def stamp(self, moment: datetime | None = None) -> str:
        """``2026-03-04 07:30 Asia/Shanghai``: a moment (now by default) as a clerk reads it."""
        return f"{self.local(moment or self.clock.now()):%Y-%m-%d %H:%M} {self.zone_name}"

    def dated(self, on: date) -> str:
        """``2026-03-04 (Asia/Shanghai)``: a date with the zone it is a date in."""
        return f"{on.isoformat()} ({self.zone_name})"
