"""The collection account's statements, read as one run of bookings, checked as a chain.

Statements come as files (camt.053, or a bank's text export with its layout); a run may be
given several (a week of daily statements). Before any booking counts they are checked as a
set: every statement is for the collection account (another account is a ``StatementError``:
its money is not ours to count); a statement seen twice (the same file, or the same id with
the same figures) counts once and is noted; each statement must open with the balance the
previous one closed with, else one is missing and a person is told the gap; its bookings
must add up from opening to closing; a booking in another currency is noted and not counted.
Bookings are streamed to a ``sink`` as they are read, so a 300,000-line statement is matched
without being held.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from paychannels.bankfiles.camt053 import read_camt053
from paychannels.bankfiles.errors import BankFileError
from paychannels.bankfiles.statement import StatementError, StatementHead, StatementLine
from paychannels.bankfiles.stmttext import load_statement_layout, read_statement_text
from paychannels.reconcile.classify import yuan

__all__ = ["StatementRun", "read_statements"]

Sink = Callable[[StatementLine], None]


@dataclass
class StatementRun:
    """What the statements of a run held: their heads, and what a person must look at."""

    account: str = ""
    currency: str = ""
    heads: list[StatementHead] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    credits: int = 0
    credited_minor: int = 0
    skipped: int = 0  # bookings not counted (another currency, not booked)

    @property
    def last_day(self) -> str:
        """The last day the statements cover (ISO), '' when none says."""
        days = [d for h in self.heads if (d := h.to_day or h.from_day) is not None]
        return max(days).isoformat() if days else ""

    def as_dict(self) -> dict[str, object]:
        """For ``--json``."""
        return {
            "account": _masked(self.account),
            "currency": self.currency,
            "statements": [
                {
                    "file": h.file,
                    "id": h.statement_id,
                    "from": h.from_day.isoformat() if h.from_day else None,
                    "to": h.to_day.isoformat() if h.to_day else None,
                    "opening_minor": h.opening_minor,
                    "closing_minor": h.closing_minor,
                }
                for h in self.heads
            ],
            "credits": self.credits,
            "credited_minor": self.credited_minor,
            "skipped": self.skipped,
            "notes": list(self.notes),
        }


def _masked(account: str) -> str:
    """An account number as shown anywhere: the last four digits."""
    return f"****{account[-4:]}" if len(account) > 4 else account


def read_statements(
    paths: Iterable[Path],
    sink: Sink,
    *,
    account: str | None = None,
    layout: str = "icbc",
) -> StatementRun:
    """Stream every booked line of ``paths`` into ``sink`` once, after the checks above.

    ``account``: the collection account (default: the first statement's). ``layout``: the
    text layout for files that are not XML. ``StatementError`` for another account or two
    different statements under one id; ``BankFileError`` for a file that cannot be read.
    """
    run = StatementRun(account=account or "")
    seen_files: dict[str, str] = {}
    seen_ids: dict[tuple[str, str], tuple[object, ...]] = {}
    for path in sorted(set(paths), key=str):
        digest = _digest(path)
        if digest in seen_files:
            run.notes.append(f"{path.name} is the same file as {seen_files[digest]}: counted once")
            continue
        seen_files[digest] = path.name
        _one(path, sink, run, seen_ids, layout)
    _chain(run)
    return run


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
    except OSError as exc:
        raise BankFileError(path, f"cannot read: {exc.strerror or exc}") from None
    return h.hexdigest()


def _items(path: Path, layout: str) -> Iterator[StatementHead | StatementLine]:
    with open(path, "rb") as fh:
        first = fh.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    if first.startswith(b"<"):
        return read_camt053(path)
    return read_statement_text(path, load_statement_layout(layout))


def _one(
    path: Path,
    sink: Sink,
    run: StatementRun,
    seen_ids: dict[tuple[str, str], tuple[object, ...]],
    layout: str,
) -> None:
    head: StatementHead | None = None
    counting = True
    moved = 0
    for item in _items(path, layout):
        if isinstance(item, StatementHead):
            if head is not None and counting:
                _close(run, head, moved)
            head, moved = item, 0
            counting = _admit(path, item, run, seen_ids)
            continue
        if not counting or head is None:
            continue
        if item.status != "BOOK":
            run.skipped += 1
            continue
        if item.currency != head.currency:
            run.skipped += 1
            run.notes.append(
                f"{item.where}: a booking of {yuan(item.minor, item.currency)} in "
                f"{item.currency[:3]} on a {head.currency} account: not counted"
            )
            continue
        moved += item.signed_minor
        if item.credit:
            run.credits += 1
            run.credited_minor += item.minor
        sink(item)
    if head is not None and counting:
        _close(run, head, moved)


def _admit(
    path: Path,
    head: StatementHead,
    run: StatementRun,
    seen_ids: dict[tuple[str, str], tuple[object, ...]],
) -> bool:
    """Whether a statement's bookings count: ours, and not seen before."""
    if not run.account:
        run.account = head.account
    if head.account != run.account:
        raise StatementError(
            path,
            f"a statement for account {_masked(head.account)}, not the collection account "
            f"{_masked(run.account)}",
            line=head.line,
            where="Acct",
        )
    run.currency = run.currency or head.currency
    figures = (head.from_day, head.to_day, head.opening_minor, head.closing_minor)
    key = (head.account, head.statement_id)
    if head.statement_id and key in seen_ids:
        if seen_ids[key] != figures:
            raise StatementError(
                path,
                f"statement {head.statement_id} was read before with other figures",
                line=head.line,
                where="Stmt/Id",
            )
        run.notes.append(f"{path.name}: statement {head.statement_id} again: counted once")
        return False
    seen_ids[key] = figures
    return True


def _close(run: StatementRun, head: StatementHead, moved: int) -> None:
    """A statement read to its end: its bookings must lead from opening to closing."""
    run.heads.append(head)
    if head.opening_minor is not None and head.closing_minor is not None:
        gap = head.closing_minor - head.opening_minor - moved
        if gap:
            run.notes.append(
                f"{head.file} statement {head.statement_id}: its bookings move "
                f"{yuan(moved, head.currency)}, its balances {yuan(moved + gap, head.currency)}"
            )


def _chain(run: StatementRun) -> None:
    """Each statement opens with the previous one's closing balance, or one is missing."""
    run.heads.sort(key=lambda h: (h.from_day or h.to_day or _FAR, h.sequence, h.statement_id))
    for before, after in zip(run.heads, run.heads[1:], strict=False):
        if before.closing_minor is None or after.opening_minor is None:
            continue
        if before.closing_minor != after.opening_minor:
            gap = after.opening_minor - before.closing_minor
            run.notes.append(
                f"a statement is missing between {before.file} ({before.statement_id}, closing "
                f"{yuan(before.closing_minor, run.currency)}) and {after.file} "
                f"({after.statement_id}, opening {yuan(after.opening_minor, run.currency)}): "
                f"{yuan(gap, run.currency)} moved unseen"
            )


_FAR = date.max
