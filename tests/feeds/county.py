"""A county's days in a real journal: roster obligations paid, reversed and refunded through
the Collector and a memory channel, at chosen times (Asia/Shanghai days)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from paychannels import Collector, ManualClock, MemoryChannel, Money, Status
from paychannels.documents.roster import RosterEntry
from paychannels.journal import Change, Journal, NewRecord
from paychannels.values.idnumbers import with_check_digit
from paychannels.values.models import Payment

SHANGHAI = ZoneInfo("Asia/Shanghai")
PENSION = "城乡居民基本养老保险"
MEDICAL = "城乡居民基本医疗保险"
DAY1 = date(2026, 3, 2)
DAY2 = date(2026, 3, 3)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A county time as UTC (what the journal stores)."""
    return datetime.combine(day, time(hour, minute), SHANGHAI).astimezone(UTC)


def payer(n: int) -> str:
    """A resident ID number (region 152221, valid check digit)."""
    born = date(1950, 1, 1) + timedelta(days=n * 37 % 18000)
    return with_check_digit(f"152221{born:%Y%m%d}{n % 1000:03d}")


def entry(n: int, *, medical: bool = False, grade: str = "一档") -> RosterEntry:
    """The n-th roster line: pension (grade) or medical."""
    return RosterEntry(
        line=n + 2,
        payer_id=payer(n),
        name="张三",
        amount=Money("400.00" if medical else "200.00", "CNY"),
        period="2026",
        insurance_type=MEDICAL if medical else PENSION,
        grade="统一标准" if medical else grade,
        channels=("hall",),
    )


def open_county(url: str, start: datetime) -> tuple[Collector, ManualClock]:
    """A Collector on a fresh journal with the hall channel, its clock at ``start``."""
    clock = ManualClock(start)
    col = Collector.open(url, clock=clock, create=True)
    col.add_channel("hall", MemoryChannel())
    return col, clock


def pay(col: Collector, n: int, **kw: object) -> Payment:
    """Collect the n-th roster obligation at the hall."""
    return col.collect(entry(n, **kw).request("hall"), channel="hall")  # type: ignore[arg-type]


def fill(journal: Journal, numbers: range, *, paid_at: datetime, medical: bool = False) -> None:
    """Roster obligations journaled and paid at ``paid_at`` in bulk (the hall's references)."""
    news = [
        NewRecord(
            id=f"pay_{n:07d}",
            kind="payment",
            channel="hall",
            request=entry(n, medical=medical).request("hall"),
            fingerprint=f"f{n}",
        )
        for n in numbers
    ]
    journal.create_many(news, now=paid_at)
    journal.modify_many(
        [
            (
                f"pay_{n:07d}",
                lambda _r, n=n: [
                    Change(to_status=Status.DISPATCHED),
                    Change(
                        to_status=Status.SUCCEEDED,
                        amount_taken=Money("400.00" if medical else "200.00", "CNY"),
                        channel_ref=f"hall-1/{n:06d}",
                    ),
                ],
            )
            for n in numbers
        ],
        now=paid_at,
    )
