"""What one reconciliation found, and its views: per-obligation details, CSV lines, JSON.

A ``Reconciliation`` keeps the obligations as the parallel columns it was built from (a
county's 300,000 payers would be 300,000 objects otherwise) and hands out rows on demand:
``details()`` as ``DetailRow``\\ s, ``csv_rows()`` as the lines of details.csv, ``summary()``
as the JSON for machines. ``balanced`` is the day's verdict.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Protocol, overload

from paychannels.reconcile.arrivals import ArrivalReport
from paychannels.reconcile.classify import classify, yuan
from paychannels.reconcile.model import (
    Category,
    ChannelCheck,
    Concern,
    GroupTotals,
    OperatorTotals,
)
from paychannels.reconcile.owed import Owed
from paychannels.reconcile.quiet_gc import quiet_gc
from paychannels.reconcile.taken import Attempt, ChannelTotals, Taken
from paychannels.runtime.countytime import DEFAULT_ZONE
from paychannels.security.masking import mask_payer_id

__all__ = [
    "CSV_HEADER",
    "ColumnDetails",
    "ConcernSequence",
    "DetailRow",
    "Details",
    "NoDetails",
    "Reconciliation",
    "mask_payer",
]


class DetailRow(NamedTuple):
    """One obligation, for the details CSV."""

    line: int
    payer: str
    name: str
    township: str
    village: str
    period: str
    reference: str
    grade: str
    owed_minor: int
    received_minor: int
    currency: str
    category: Category
    channels: str
    records: str
    why: str


#: the columns of details.csv (amounts in the roster's currency)
CSV_HEADER = (
    "line",
    "payer_id",
    "name",
    "township",
    "village",
    "reference",
    "owed",
    "received",
    "category",
    "channels",
    "records",
    "why",
)


@dataclass
class Reconciliation:
    """Everything one run found; ``balanced`` is the day's verdict."""

    generated_at: datetime
    journal: str
    roster: str
    currency: str
    totals: GroupTotals
    townships: dict[str, GroupTotals]
    periods: dict[str, GroupTotals]
    channels: list[ChannelTotals]
    operators: list[OperatorTotals]
    checks: list[ChannelCheck]
    #: a list, or where a reconciliation in the database keeps them (``StagedConcerns``)
    concerns: ConcernSequence
    outside: GroupTotals  # obligations in the journal the roster does not have
    journal_rows: int
    #: seconds spent per phase (roster, journal, checks, assemble)
    timings: dict[str, float] = field(default_factory=dict)
    #: the third level: settlements against the collection account (with ``--statement``)
    arrivals: ArrivalReport | None = None
    #: the county's time zone: the report's times are shown in it, named
    zone: str = DEFAULT_ZONE
    #: per village, named "township village" (the report calls out those behind)
    villages: dict[str, GroupTotals] = field(default_factory=dict)
    #: the obligations, row by row (columns in memory, or a table beside the journal)
    _details: Details = field(repr=False, default_factory=lambda: NoDetails())

    def close(self) -> None:
        """Let go of the obligations' rows (a staged table is dropped); idempotent."""
        self._details.close()

    def __enter__(self) -> Reconciliation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def lost_minor(self) -> int:
        """Money channels hold that the journal does not credit."""
        return sum(s.lost_minor for c in self.checks for s in c.statements)

    @property
    def unconfirmed_minor(self) -> int:
        """Money the journal credits that the channels do not show."""
        return sum(s.unconfirmed_minor for c in self.checks for s in c.statements)

    @property
    def doubled(self) -> int:
        """Obligations with two payments holding money."""
        return self.totals.count(Category.PAID_TWICE)

    @property
    def in_doubt(self) -> int:
        """Obligations with an attempt whose outcome is not known yet."""
        return self.totals.count(Category.IN_DOUBT) + self.outside.count(Category.IN_DOUBT)

    @property
    def unchecked(self) -> list[str]:
        """Channels holding money without settlement figures to compare with."""
        return [c.channel for c in self.checks if c.status == "unchecked"]

    @property
    def in_full_and_on_time(self) -> bool | None:
        """Every due settlement arrived on the account in full, by its due day (及时足额);
        None when no statement was given."""
        return None if self.arrivals is None else self.arrivals.in_full_and_on_time

    @property
    def balanced(self) -> bool:
        """Every yuan accounted for: the channels' figures equal the journal, nothing lost,
        unconfirmed, doubled or in doubt, no money from outside the roster, no channel
        unchecked."""
        return (
            all(c.status == "match" for c in self.checks)
            and self.lost_minor == 0
            and self.unconfirmed_minor == 0
            and self.doubled == 0
            and self.in_doubt == 0
            and self.outside.received_minor == 0
        )

    def payer_ids(self) -> Iterator[str]:
        """The payers' ids as the roster has them (unmasked), in the order of ``details()``;
        for those who must mask them their own way (public notices)."""
        return self._details.payer_ids()

    def details(self) -> Iterator[DetailRow]:
        """Every obligation of the roster, in roster order."""
        return (DetailRow._make(row) for row in self.detail_rows())

    def detail_rows(self) -> Iterator[tuple[Any, ...]]:
        """``details()`` as plain tuples in ``DetailRow`` order (300,000 of them, quickly)."""
        return self._details.rows()

    def details_with_ids(self) -> Iterator[tuple[DetailRow, str]]:
        """``details()`` each with its payer's unmasked id, from one read (zipping
        ``details()`` with ``payer_ids()`` would be two reads of the staged rows at once)."""
        return ((DetailRow._make(row), payer) for row, payer in self._details.rows_with_ids())

    def details_by_place(self) -> Iterator[tuple[DetailRow, str]]:
        """``details_with_ids()`` ordered by township, then village (code point order), roster
        order within one: a village's rows come together, so its public list can be written
        before the next is read (a province's would not fit in memory at once)."""
        return ((DetailRow._make(row), payer) for row, payer in self._details.rows_by_place())

    def csv_rows(self, only: Category | None = None) -> Iterator[tuple[object, ...]]:
        """``details()`` as the lines of details.csv (``CSV_HEADER``): money as decimal
        text, resident ID numbers masked; with ``only``, the obligations of that category
        alone, picked where they are kept (in SQL for a staged run), not by formatting all."""
        fmt = _money_texts(self.currency)
        rows = self.detail_rows() if only is None else self._details.rows_in(only)
        for r in rows:
            yield (r[0], r[1], r[2], r[3], r[4], r[6], fmt(r[8]), fmt(r[9]), r[11].value, *r[12:])

    def summary(self, *, concerns: int = 1000) -> dict[str, Any]:
        """Everything but the per-payer details, for ``--json`` (at most ``concerns``)."""
        return {
            "generated_at": self.generated_at.isoformat(),
            "journal": self.journal,
            "roster": self.roster,
            "currency": self.currency,
            "balanced": self.balanced,
            "lost_minor": self.lost_minor,
            "unconfirmed_minor": self.unconfirmed_minor,
            "doubled": self.doubled,
            "in_doubt": self.in_doubt,
            "unchecked_channels": self.unchecked,
            "totals": self.totals.as_dict(),
            "not_in_roster": self.outside.as_dict(),
            "townships": [t.as_dict() for t in self.townships.values()],
            "periods": [p.as_dict() for p in self.periods.values()],
            "channels": [c.as_dict() for c in self.channels],
            "operators": [o.as_dict() for o in self.operators],
            "settlements": [c.as_dict() for c in self.checks],
            "concerns_total": len(self.concerns),
            "concerns": [c.as_dict() for c in self.concerns[:concerns]],
            "journal_rows": self.journal_rows,
            "timings": dict(self.timings),
            "arrivals": None if self.arrivals is None else self.arrivals.as_dict(),
        }


class ConcernSequence(Protocol):
    """The concerns in order, as a list gives them: a list in the process, or read from
    the run's table (a province's would not fit a list)."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Concern]: ...

    @overload
    def __getitem__(self, index: int, /) -> Concern: ...

    @overload
    def __getitem__(self, index: slice, /) -> list[Concern]: ...

    def append(self, concern: Concern, /) -> None:
        """Add one after the others."""

    def extend(self, concerns: Iterable[Concern], /) -> None:
        """Add several after the others."""


class Details(Protocol):
    """Where a reconciliation's obligations are read from, row by row, in roster order."""

    def rows(self) -> Iterator[tuple[Any, ...]]:
        """Every obligation as a tuple in ``DetailRow`` order (payer ids masked)."""
        ...

    def rows_in(self, category: Category) -> Iterator[tuple[Any, ...]]:
        """``rows()`` of one category (unpaid.csv: whom to contact), in roster order."""
        ...

    def payer_ids(self) -> Iterator[str]:
        """The payers' ids unmasked, in the order of ``rows()``."""
        ...

    def rows_with_ids(self) -> Iterator[tuple[tuple[Any, ...], str]]:
        """``rows()`` each with its payer's unmasked id."""
        ...

    def rows_by_place(self) -> Iterator[tuple[tuple[Any, ...], str]]:
        """``rows_with_ids()`` ordered by (township, village) in code point order, roster
        order within one."""
        ...

    def close(self) -> None:
        """Release what holds the rows."""
        ...


class NoDetails:
    """No obligations at all."""

    def rows(self) -> Iterator[tuple[Any, ...]]:
        """Nothing."""
        return iter(())

    def rows_in(self, category: Category) -> Iterator[tuple[Any, ...]]:
        """Nothing."""
        return iter(())

    def payer_ids(self) -> Iterator[str]:
        """Nothing."""
        return iter(())

    def rows_with_ids(self) -> Iterator[tuple[tuple[Any, ...], str]]:
        """Nothing."""
        return iter(())

    def rows_by_place(self) -> Iterator[tuple[tuple[Any, ...], str]]:
        """Nothing."""
        return iter(())

    def close(self) -> None:
        """Nothing to release."""


@dataclass
class ColumnDetails:
    """The obligations as the in-process reconciliation built them: parallel columns."""

    owed: Owed
    categories: list[Category]
    received: array[int]
    why: dict[int, str]
    attempts: list[list[Attempt] | None]

    def rows(self) -> Iterator[tuple[Any, ...]]:
        """Every obligation, in roster order."""
        return self._rows(range(len(self.attempts)))

    def _rows(self, order: Iterable[int]) -> Iterator[tuple[Any, ...]]:
        """The obligations at the positions ``order`` gives, in that order."""
        o, got, cats, why, found = (
            self.owed,
            self.received,
            self.categories,
            self.why.get,
            self.attempts,
        )
        with quiet_gc():
            for i in order:
                channels, records = _joined(found[i])
                yield (
                    o.line[i],
                    mask_payer(o.payer_id[i]),
                    o.name[i],
                    o.township[i],
                    o.village[i],
                    o.period[i],
                    o.reference[i],
                    o.grade[i],
                    o.owed[i],
                    got[i],
                    o.currency[i],
                    cats[i],
                    channels,
                    records,
                    why(i, ""),
                )

    def rows_in(self, category: Category) -> Iterator[tuple[Any, ...]]:
        """The obligations of one category, in roster order."""
        return self._rows(i for i, c in enumerate(self.categories) if c is category)

    def payer_ids(self) -> Iterator[str]:
        """The roster's ids."""
        return iter(self.owed.payer_id)

    def rows_with_ids(self) -> Iterator[tuple[tuple[Any, ...], str]]:
        """Every obligation with its payer's id."""
        return zip(self.rows(), self.owed.payer_id, strict=True)

    def rows_by_place(self) -> Iterator[tuple[tuple[Any, ...], str]]:
        """Every obligation with its payer's id, by township and village (a stable sort of
        positions: roster order within one)."""
        town, village, ids = self.owed.township, self.owed.village, self.owed.payer_id
        order = array("q", sorted(range(len(ids)), key=lambda i: (town[i], village[i])))
        return zip(self._rows(order), (ids[i] for i in order), strict=True)

    def close(self) -> None:
        """The columns go with the object."""


def _joined(attempts: list[Attempt] | None) -> tuple[str, str]:
    """An obligation's channels (each once) and record ids, ``;``-separated."""
    if attempts is None:
        return "", ""
    if len(attempts) == 1:
        return attempts[0].channel, attempts[0].id
    return ";".join(dict.fromkeys(a.channel for a in attempts)), ";".join(a.id for a in attempts)


def mask_payer(payer_id: str) -> str:
    """A payer id as reports print it: a resident ID number with only its region code and
    last four (quickly), anything else through the general scrubber."""
    if len(payer_id) == 18 and payer_id[:17].isdigit():
        return payer_id[:6] + "********" + payer_id[14:]  # mask_id_number, inline
    return mask_payer_id(payer_id)


def _money_texts(currency: str) -> Callable[[int], str]:
    """A formatter of minor units that remembers what it formatted (amounts repeat)."""
    texts: dict[int, str] = {}

    def text(minor: int) -> str:
        found = texts.get(minor)
        if found is None:
            found = texts[minor] = yuan(minor, currency)
        return found

    return text


def add_outsider(
    outside: GroupTotals,
    concerns: list[Concern],
    key: tuple[str, str],
    attempts: list[Attempt],
    taken: Taken,
    currency: str,
) -> None:
    """Count what was taken for a (payer, reference) the roster lacks, and name it as a
    concern — the same rule whether the journal was joined in the database or here."""
    category, got, text, flags = classify(0, currency, attempts, taken)
    held = sum(1 for a in attempts if a.status == "SUCCEEDED")
    if category is Category.UNPAID and not held and not flags:
        return  # a declined attempt for someone not on the roster: nothing to do
    outside.add(category, 0, got)
    concerns.append(
        Concern(
            Category.NOT_IN_ROSTER.value,
            f"not on the roster ({category.value}); {text}".rstrip("; "),
            payer=mask_payer(key[0]),
            reference=key[1],
            records=tuple(a.id for a in attempts),
        )
    )
