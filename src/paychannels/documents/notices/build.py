"""Who has paid, ready to be posted: one list per county, township or village.

A payer is listed when what they owed for the period has been received in full (paid,
paid in parts, overpaid or paid twice — the notice says *that* they paid, not how). Names
and ID numbers are masked (``张*三``, ``152221********1234``) before anything is written:
a ``NoticeLine`` never holds a full name, ID number or account. Other id schemes
(passports) keep only their last four characters: a region code means nothing there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from paychannels.reconcile import Category, DetailRow, Reconciliation
from paychannels.reconcile.classify import yuan
from paychannels.security.masking import mask_account, mask_id_number, mask_name

__all__ = [
    "HAS_PAID",
    "Level",
    "Notice",
    "NoticeLine",
    "build_notices",
    "iter_notices",
    "public_id",
]

#: categories in which the payer has paid what was owed
HAS_PAID = frozenset({Category.PAID, Category.OVERPAID, Category.PAID_TWICE})


class Level(StrEnum):
    """Where a list is posted: one for the county, one per township, one per village."""

    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"


@dataclass(frozen=True, slots=True)
class NoticeLine:
    """One payer as the public sees them: masked, and what was paid."""

    name: str  # masked
    payer: str  # masked
    township: str
    village: str
    insurance: str
    grade: str
    amount: str
    period: str


@dataclass
class Notice:
    """One list to post: where, for which period(s), the lines grouped by village."""

    level: Level
    county: str
    township: str = ""
    village: str = ""
    periods: list[str] = field(default_factory=list)
    lines: list[NoticeLine] = field(default_factory=list)
    #: (township, village) -> (payers on the roster, payers who have paid)
    counts: dict[tuple[str, str], list[int]] = field(default_factory=dict)

    @property
    def place(self) -> str:
        """The place the list is for, as printed in its title."""
        return " ".join(p for p in (self.county, self.township, self.village) if p)

    @property
    def file_stem(self) -> str:
        """A file name for the list (no path separators)."""
        parts = [self.level.value, self.township or self.county, self.village]
        return "-".join(_safe(p) for p in parts if p)


def _safe(text: str) -> str:
    return "".join("_" if c in '/\\:*?"<>| ' else c for c in text)[:60] or "_"


def build_notices(
    rec: Reconciliation,
    level: Level,
    *,
    county: str = "",
    township: str | None = None,
    village: str | None = None,
) -> list[Notice]:
    """The lists for ``level`` (only those of ``township``/``village`` when given), all at
    once; ``iter_notices`` gives them one by one (what a province needs)."""
    return list(iter_notices(rec, level, county=county, township=township, village=village))


def iter_notices(
    rec: Reconciliation,
    level: Level,
    *,
    county: str = "",
    township: str | None = None,
    village: str | None = None,
) -> Iterator[Notice]:
    """The lists for ``level`` one at a time, in place order, each made from its own rows
    only (read by place, a village's together): memory holds one list, not the province's.
    The county's single list holds every paid line by nature."""
    current: _Building | None = None
    for row, payer_id in rec.details_by_place():
        if (township is not None and row.township != township) or (
            village is not None and row.village != village
        ):
            continue
        key = _KEYS[level](row)
        if current is None or current.key != key:
            if current is not None:
                yield current.done()
            current = _Building(key, Notice(level, county, *key))
        current.add(row, payer_id)
    if current is not None:
        yield current.done()


_KEYS: dict[Level, Callable[[DetailRow], tuple[str, str]]] = {
    Level.COUNTY: lambda _row: ("", ""),
    Level.TOWNSHIP: lambda row: (row.township, ""),
    Level.VILLAGE: lambda row: (row.township, row.village),
}


class _Building:
    """One list being filled from its rows (by place: lines already in print order)."""

    def __init__(self, key: tuple[str, str], notice: Notice) -> None:
        self.key, self.notice = key, notice
        self.first_line: dict[str, int] = {}  # period -> first roster line naming it

    def add(self, row: DetailRow, payer_id: str) -> None:
        """Count the payer; list them when they have paid."""
        counts = self.notice.counts.setdefault((row.township, row.village), [0, 0])
        counts[0] += 1
        if row.period not in self.first_line or row.line < self.first_line[row.period]:
            self.first_line[row.period] = row.line
        if row.category not in HAS_PAID:
            return
        counts[1] += 1
        self.notice.lines.append(
            NoticeLine(
                name=mask_name(row.name),
                payer=public_id(payer_id),
                township=row.township,
                village=row.village,
                insurance=row.reference.partition(":")[2] or row.reference,
                grade=row.grade,
                amount=yuan(row.received_minor, row.currency),
                period=row.period,
            )
        )

    def done(self) -> Notice:
        """The list, its periods in the roster's order (rows by place are not)."""
        self.notice.periods = sorted(self.first_line, key=self.first_line.__getitem__)
        return self.notice


def public_id(payer_id: str) -> str:
    """A payer id as a notice prints it: a resident ID number keeps its region code and last
    four (``152221********1234``), any other id only its last four, and none of a short one."""
    value = payer_id.strip()
    if len(value) == 18 and value[:17].isdigit():
        return mask_id_number(value)
    return mask_account(value) if len(value) >= 8 else "*" * len(value)
