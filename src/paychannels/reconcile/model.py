"""What a reconciliation finds: categories, checks against settlement figures, the totals.

Everything here is plain data, ready for the text summary, the CSV files, the HTML report
and ``--json``. Amounts are integer minor units; the currency is the roster's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "Category",
    "ChannelCheck",
    "Concern",
    "GroupTotals",
    "OperatorTotals",
    "StatementCheck",
]


class Category(StrEnum):
    """Where one obligation (payer, period) stands; the first that applies, in this order."""

    IN_DOUBT = "in_doubt"  # an attempt whose outcome is not known yet (or needs a person)
    PAID_TWICE = "paid_twice"  # two attempts hold money for one obligation
    AMOUNT_MISMATCH = "amount_mismatch"  # money taken for another amount than owed
    OVERPAID = "overpaid"  # more received than owed
    PARTLY_PAID = "partly_paid"  # less received than owed (a partial bank debit)
    PAID = "paid"  # exactly what was owed
    UNPAID = "unpaid"  # nothing received and nothing in doubt
    NOT_IN_ROSTER = "not_in_roster"  # money or attempts for an obligation the roster lacks

    @property
    def zh(self) -> str:
        """The category's name in Chinese (reports and notices)."""
        return _ZH[self]


_ZH = {
    Category.IN_DOUBT: "待确认",
    Category.PAID_TWICE: "重复缴费",
    Category.AMOUNT_MISMATCH: "金额不符",
    Category.OVERPAID: "多缴",
    Category.PARTLY_PAID: "部分缴费",
    Category.PAID: "已缴费",
    Category.UNPAID: "未缴费",
    Category.NOT_IN_ROSTER: "名册外",
}

#: categories that need a person (unpaid and paid do not)
CONCERNS = frozenset(Category) - {Category.PAID, Category.UNPAID}


@dataclass
class GroupTotals:
    """Obligations of a group (a township, a period, everything): counts and money."""

    name: str
    obligations: int = 0
    owed_minor: int = 0
    received_minor: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    #: per category: [owed, received] in minor units
    money: dict[str, list[int]] = field(default_factory=dict)

    def add(self, category: Category, owed: int, received: int, n: int = 1) -> None:
        """Count ``n`` obligations of a category owing and holding these sums."""
        self.obligations += n
        self.owed_minor += owed
        self.received_minor += received
        self.counts[category.value] = self.counts.get(category.value, 0) + n
        both = self.money.setdefault(category.value, [0, 0])
        both[0] += owed
        both[1] += received

    def count(self, category: Category) -> int:
        """How many obligations are in ``category``."""
        return self.counts.get(category.value, 0)

    @property
    def paid_count(self) -> int:
        """Obligations paid in full (paid, overpaid or paid twice count)."""
        return sum(self.count(c) for c in (Category.PAID, Category.OVERPAID, Category.PAID_TWICE))

    @property
    def paid_share(self) -> float:
        """Share of obligations paid in full."""
        return self.paid_count / self.obligations if self.obligations else 0.0

    def as_dict(self) -> dict[str, Any]:
        """For ``--json``."""
        return {**asdict(self), "paid_share": round(self.paid_share, 6)}


@dataclass
class OperatorTotals:
    """What one collecting person (hall clerk, village assistant) took, by channel."""

    operator: str
    payments: int = 0
    taken_minor: int = 0
    refunded_minor: int = 0
    in_doubt: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)

    @property
    def held_minor(self) -> int:
        """Taken less given back."""
        return self.taken_minor - self.refunded_minor

    def as_dict(self) -> dict[str, Any]:
        """For ``--json``."""
        return {**asdict(self), "held_minor": self.held_minor}


@dataclass
class StatementCheck:
    """One statement (an end of day, a day's bill, a result file) against the journal."""

    source: str
    stated_net_minor: int
    journal_net_minor: int
    stated_count: int | None
    journal_count: int
    differences: list[str] = field(default_factory=list)
    lost_minor: int = 0  # the channel holds it, the journal does not credit it
    unconfirmed_minor: int = 0  # the journal credits it, the channel does not show it

    @property
    def matches(self) -> bool:
        """The statement and the journal agree on money and count."""
        return not self.differences


@dataclass
class ChannelCheck:
    """A channel's settlement figures against the journal: every statement, and what is left."""

    channel: str
    kind: str
    statements: list[StatementCheck] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        """``match``, ``mismatch`` or ``unchecked`` (money, but no figures to compare with)."""
        if self.kind == "none":
            return "unchecked"
        return "match" if all(s.matches for s in self.statements) else "mismatch"

    def as_dict(self) -> dict[str, Any]:
        """For ``--json``."""
        return {
            "channel": self.channel,
            "kind": self.kind,
            "status": self.status,
            "statements": [{**asdict(s), "matches": s.matches} for s in self.statements],
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Concern:
    """One thing a person must look at, and why."""

    category: str
    text: str
    payer: str = ""  # masked id
    name: str = ""
    township: str = ""
    village: str = ""
    reference: str = ""
    line: int = 0
    records: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """For ``--json`` and the attention CSV."""
        return {**asdict(self), "records": list(self.records)}
