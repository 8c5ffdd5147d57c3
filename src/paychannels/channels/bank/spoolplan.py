"""What a flush needs from a spool file before it writes a byte: each debit's line offset
and amount, the withdrawn debits, the first debit — read in the plan's one full pass.

The (offset, amount) pairs are machine integers in a ``ScratchPairs``: in memory for a
county's spool, in an anonymous scratch file past its limit, so a province's 3,000,000
debits do not hold 48 MB (16 bytes a debit) through the flush."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from paychannels.bankfiles.errors import BankFileError
from paychannels.bankfiles.model import Debit
from paychannels.channels.bank import spool as spooling
from paychannels.channels.bank.scratchpairs import ScratchPairs

__all__ = ["SpoolPlan", "read_plan"]


@dataclass(slots=True)
class SpoolPlan:
    """A spool file's debits as the plan sees them, in spool order (withdrawn ones apart)."""

    pairs: ScratchPairs  # (line offset, amount in minor units) of each debit
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (offset, end-to-end id)
    first: Debit | None = None

    def __len__(self) -> int:
        return len(self.pairs)

    def amounts(self) -> Iterator[int]:
        """Each debit's amount, in spool order."""
        return self.pairs.column(1)

    def offset(self, index: int) -> int | None:
        """The line offset of debit ``index``; None past the last debit."""
        return self.pairs.get(index)[0] if index < len(self.pairs) else None

    def close(self) -> None:
        """Give the pairs' scratch file back."""
        self.pairs.close()


def read_plan(path: Path, *, limit: int | None = None) -> SpoolPlan:
    """The plan's one full pass over ``path`` (after reading its cancel lines); past
    ``limit`` debits the pairs go to a scratch file (``scratchpairs.LIMIT`` by default)."""
    withdrawn = spooling.cancelled(path)
    plan = SpoolPlan(ScratchPairs(limit=limit))
    for at, debit in spooling.debits_from(path, 0, ()):
        if debit.end_to_end_id in withdrawn:
            plan.skipped.append((at, debit.end_to_end_id))
            continue
        plan.first = plan.first or debit
        try:
            plan.pairs.append(at, debit.amount_minor)
        except OverflowError:  # no file could carry it (the writers stop below 10**18)
            plan.close()
            raise BankFileError(
                path.name, f"amount {debit.amount_minor} is out of range", where=f"byte {at}"
            ) from None
    return plan
