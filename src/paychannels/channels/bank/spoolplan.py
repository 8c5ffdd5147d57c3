"""What a flush needs from a spool file before it writes a byte: each debit's line offset
and amount, the withdrawn debits, the first debit — read in the plan's one full pass.

The offsets and amounts are machine integers (``array('q')``, 16 bytes a debit): a list of
Python ints costs ~70 bytes a debit, 210 MB for a province's 3,000,000-debit spool."""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from pathlib import Path

from paychannels.bankfiles.errors import BankFileError
from paychannels.bankfiles.model import Debit
from paychannels.channels.bank import spool as spooling

__all__ = ["SpoolPlan", "read_plan"]


@dataclass(slots=True)
class SpoolPlan:
    """A spool file's debits as the plan sees them, in spool order (withdrawn ones apart)."""

    offsets: array[int] = field(default_factory=lambda: array("q"))  # each debit's line
    amounts: array[int] = field(default_factory=lambda: array("q"))  # minor units
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (offset, end-to-end id)
    first: Debit | None = None


def read_plan(path: Path) -> SpoolPlan:
    """The plan's one full pass over ``path`` (after reading its cancel lines)."""
    withdrawn = spooling.cancelled(path)
    plan = SpoolPlan()
    for at, debit in spooling.debits_from(path, 0, ()):
        if debit.end_to_end_id in withdrawn:
            plan.skipped.append((at, debit.end_to_end_id))
            continue
        plan.first = plan.first or debit
        plan.offsets.append(at)
        try:
            plan.amounts.append(debit.amount_minor)
        except OverflowError:  # no file could carry it (the writers stop below 10**18)
            raise BankFileError(
                path.name, f"amount {debit.amount_minor} is out of range", where=f"byte {at}"
            ) from None
    return plan
