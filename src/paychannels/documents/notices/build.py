"""Who has paid, ready to be posted: one list per county, township or village.

A payer is listed when what they owed for the period has been received in full (paid,
paid in parts, overpaid or paid twice — the notice says *that* they paid, not how). Names
and ID numbers are masked (``张*三``, ``152221********1234``) before anything is written:
a ``NoticeLine`` never holds a full name, ID number or account. Other id schemes
(passports) keep only their last four characters: a region code means nothing there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from paychannels.reconcile import Category, Reconciliation
from paychannels.reconcile.classify import yuan
from paychannels.security.masking import mask_account, mask_id_number, mask_name

__all__ = ["HAS_PAID", "Level", "Notice", "NoticeLine", "build_notices", "public_id"]

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
    """The lists for ``level`` (only those of ``township``/``village`` when given)."""
    notices: dict[tuple[str, str], Notice] = {}
    for row, payer_id in rec.details_with_ids():
        if township is not None and row.township != township:
            continue
        if village is not None and row.village != village:
            continue
        key = {
            Level.COUNTY: ("", ""),
            Level.TOWNSHIP: (row.township, ""),
            Level.VILLAGE: (row.township, row.village),
        }[level]
        notice = notices.get(key)
        if notice is None:
            notice = notices[key] = Notice(level, county, *key)
        counts = notice.counts.setdefault((row.township, row.village), [0, 0])
        counts[0] += 1
        if row.period not in notice.periods:
            notice.periods.append(row.period)
        if row.category not in HAS_PAID:
            continue
        counts[1] += 1
        notice.lines.append(
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
    for notice in notices.values():
        notice.lines.sort(key=lambda x: (x.township, x.village))
    return [notices[k] for k in sorted(notices)]


def public_id(payer_id: str) -> str:
    """A payer id as a notice prints it: a resident ID number keeps its region code and last
    four (``152221********1234``), any other id only its last four, and none of a short one."""
    value = payer_id.strip()
    if len(value) == 18 and value[:17].isdigit():
        return mask_id_number(value)
    return mask_account(value) if len(value) >= 8 else "*" * len(value)
