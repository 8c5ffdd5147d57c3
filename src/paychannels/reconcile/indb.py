"""Reconciliation in the database: the roster staged beside the journal, the join in SQL.

A province's year (ten million obligations) does not fit in one process's dicts. The
roster is read line by line (every check but the repeat check, which SQL does) and staged
into a table the journal keeps for this run; SQL decides what needs no judgement while
staging (nothing paid: unpaid; one payment of exactly what was owed, unrefunded,
unflagged: paid); the rest —
a few per cent, each with its payments and refunds — is judged here by the very ``classify``
the in-process path uses, a range of obligations at a time, and written back at once (one
``UPDATE ... FROM`` of the judged rows: the plain ones are never rewritten); the totals per
township, period and village are SQL aggregates; the outputs stream the table back. The
concerns stay in the table too (``StagedConcerns`` reads them back in roster order). What
stays in this process is bounded by the money from outside the roster and by the rows the
channels' settlement figures are compared with, not by the number of payers.
"""

from __future__ import annotations

import logging
import pickle
import subprocess
import sys
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any, overload

from paychannels.documents.roster import (
    RosterEntry,
    RosterOptions,
    RosterProblem,
    iter_roster,
    repeated,
)
from paychannels.journal.base import LedgerRow
from paychannels.journal.obligations import SqlObligations, new_run
from paychannels.reconcile.classify import classify
from paychannels.reconcile.model import (
    CONCERNS,
    Category,
    Concern,
    GroupTotals,
    OperatorTotals,
)
from paychannels.reconcile.owed import PARALLEL_FROM, child_answer, spawn_module
from paychannels.reconcile.result import add_outsider, mask_payer
from paychannels.reconcile.taken import (
    DOUBT_LISTED,
    IN_DOUBT,
    NO_OPERATOR,
    Attempt,
    ChannelTotals,
    RefundLine,
    Taken,
    keep_lines,
)
from paychannels.values.errors import JournalError
from paychannels.values.status import Status

__all__ = [
    "Staged",
    "StagedConcerns",
    "StagedDetails",
    "Staging",
    "gather_totals",
    "group_totals",
    "judge_open",
    "outside_roster",
    "stage_roster",
]

log = logging.getLogger("paychannels.reconcile")

#: obligations whose open ones are read and judged in Python per round trip
_RANGE = 50_000


class StagedDetails:
    """A reconciliation's obligations in the run's table, streamed back in roster order;
    ``close`` (or the object's end) drops the table."""

    def __init__(self, journal: SqlObligations, run: str, *, own: bool) -> None:
        self.journal, self.run = journal, run
        self._end = weakref.finalize(self, _drop, journal, run, own)

    def rows(self) -> Iterator[tuple[Any, ...]]:
        """Every obligation in ``DetailRow`` order, payer ids masked."""
        return (row for row, _payer in self.rows_with_ids())

    def rows_in(self, category: Category) -> Iterator[tuple[Any, ...]]:
        """The obligations of one category, picked in SQL, payer ids masked."""
        pages = self.journal.obligation_rows(self.run, category=category.value)
        return (row for row, _payer in self._read(pages))

    def payer_ids(self) -> Iterator[str]:
        """The payers' ids unmasked."""
        return (payer for _row, payer in self.rows_with_ids())

    def rows_with_ids(self) -> Iterator[tuple[tuple[Any, ...], str]]:
        """Every obligation with its payer's id, from a server-side cursor."""
        return self._read(self.journal.obligation_rows(self.run))

    def rows_by_place(self) -> Iterator[tuple[tuple[Any, ...], str]]:
        """Every obligation with its payer's id by township and village, sorted in SQL."""
        return self._read(self.journal.obligation_rows(self.run, by_place=True))

    @staticmethod
    def _read(pages: Iterator[list[tuple[Any, ...]]]) -> Iterator[tuple[tuple[Any, ...], str]]:
        """The table's rows in ``DetailRow`` order, each with its payer's unmasked id."""
        for page in pages:
            for r in page:
                row = (
                    r[0],
                    mask_payer(r[1]),
                    *r[2:9],
                    r[11],
                    r[9],
                    Category(r[10]),
                    r[12] or "",
                    r[13] or "",
                    r[14] or "",
                )
                yield row, r[1]

    @property
    def closed(self) -> bool:
        """Whether the run's table was dropped (nothing can be read back any more)."""
        return not self._end.alive

    def close(self) -> None:
        """Drop the run's table (and close the journal if the run opened it)."""
        self._end()


def _drop(journal: SqlObligations, run: str, own: bool) -> None:
    """Drop a run's table; a journal its caller closed already keeps it until a later run
    sweeps tables older than a day."""
    try:
        journal.drop_obligations(run)
    except JournalError as exc:
        log.debug("reconciliation table of run %s not dropped: %s", run, exc)
    finally:
        if own:
            journal.close()


class Staged:
    """A roster staged: its run, how many obligations, the problems found, the currency."""

    def __init__(self, run: str) -> None:
        self.run = run
        self.count = 0
        self.currency = ""
        self.problems: list[RosterProblem] = []
        #: seconds of the staging's own phases (maybe in another process, beside the journal's)
        self.laps: dict[str, float] = {}


def stage_roster(
    journal: SqlObligations,
    roster: str | Path,
    *,
    encoding: str = "auto",
    options: RosterOptions | None = None,
    run: str | None = None,
) -> Staged:
    """Read and check the roster line by line into a new run's table; repeats of a payer
    and period are found in SQL. The problems are listed, not raised (the caller drops)."""
    staged = Staged(run or new_run())

    def rows() -> Iterator[tuple[Any, ...]]:
        seq = 0
        for e in iter_roster(roster, encoding=encoding, options=options, repeats=False):
            if not isinstance(e, RosterEntry):
                staged.problems.append(e)
                continue
            seq += 1
            code = e.amount.currency.code
            staged.currency = staged.currency or code
            yield (
                seq,
                e.line,
                e.payer_id,
                e.name,
                e.township,
                e.village,
                e.period,
                e.reference,
                e.grade,
                e.amount.minor,
                code,
            )

    began = time.perf_counter()
    staged.count = journal.stage_obligations(staged.run, rows())
    read = time.perf_counter()
    journal.settle_plain_obligations(staged.run)
    staged.laps = {
        "staging: roster read and loaded": round(read - began, 4),
        "staging: plain ones decided in SQL": round(time.perf_counter() - read, 4),
    }
    name = Path(roster).name
    repeats = [
        repeated(name, line, first) for line, first in journal.obligation_repeats(staged.run)
    ]
    if repeats:
        staged.problems = sorted(staged.problems + repeats, key=lambda p: p.line)
    return staged


class Staging:
    """A roster being staged, by a second process when it is big (it reads and checks the
    roster while this one sums the journal), else right here; ``result()`` waits."""

    def __init__(
        self,
        journal: SqlObligations,
        url: str | None,
        roster: str | Path,
        encoding: str,
        options: RosterOptions | None,
    ) -> None:
        self.journal, self.run = journal, new_run()
        self._args = (roster, encoding, options)
        self._staged: Staged | None = None
        self._child: subprocess.Popen[bytes] | None = None
        size = Path(roster).stat().st_size if Path(roster).is_file() else 0
        if url is not None and size >= PARALLEL_FROM:
            try:
                self._child = spawn_module(
                    "paychannels.reconcile.indb", (url, str(roster), encoding, options, self.run)
                )
            except OSError as exc:
                log.warning("could not start a process to stage the roster (%s)", exc)
        if self._child is None:
            self._staged = stage_roster(
                journal, roster, encoding=encoding, options=options, run=self.run
            )

    def result(self) -> Staged:
        """The staged roster (staged here if the child process failed)."""
        if self._staged is None:
            assert self._child is not None
            self._staged = child_answer(self._child, Staged, ("staging", "staging"), self._here)
        return self._staged

    def _here(self) -> Staged:
        """Stage the roster in this process, over what a failed child left."""
        self.journal.drop_obligations(self.run)
        roster, encoding, options = self._args
        return stage_roster(self.journal, roster, encoding=encoding, options=options, run=self.run)

    def abandon(self) -> None:
        """Stop the staging process, if any (the run is being given up)."""
        if self._child is not None and self._child.returncode is None:
            self._child.kill()
            self._child.communicate()


def _child_main() -> None:
    """``python -m paychannels.reconcile.indb``: stage the roster named on stdin into the
    run's table of the journal named there; answer the ``Staged`` (pickled) on stdout."""
    from paychannels.journal import open_journal
    from paychannels.reconcile import indb as module  # pickled under its importable name

    url, roster, encoding, options, run = pickle.loads(sys.stdin.buffer.read())  # noqa: S301
    with open_journal(url) as journal:
        assert isinstance(journal, SqlObligations)
        staged = module.stage_roster(journal, roster, encoding=encoding, options=options, run=run)
    pickle.dump(staged, sys.stdout.buffer, protocol=pickle.HIGHEST_PROTOCOL)
    sys.stdout.buffer.flush()


def gather_totals(
    journal: SqlObligations,
    *,
    terminals: frozenset[str],
    providers: frozenset[str],
    batched: frozenset[str],
    progress: Callable[[int], None] | None = None,
) -> Taken:
    """Per channel and operator in SQL; the rows settlement figures are compared with
    streamed for those channels only. ``attempts`` stays empty: obligations are in SQL."""
    out = Taken()
    for channel, kind, status, n, moved in sorted(journal.ledger_totals()):
        ch = out.channels.get(channel) or out.channels.setdefault(channel, ChannelTotals(channel))
        out.rows += n
        if status in IN_DOUBT:  # counted here; only the few a check names are read
            out.doubt_counts[channel] = out.doubt_counts.get(channel, 0) + n
        if kind == "refund":
            if status == "SUCCEEDED":
                ch.refunds += n
                ch.refunded_minor += moved
            continue
        ch.payments[status] = ch.payments.get(status, 0) + n
        if status == "SUCCEEDED":
            ch.succeeded += n
            ch.taken_minor += moved
    _operators(out, journal.operator_totals())
    for channel in sorted(out.doubt_counts):
        out.doubt[channel] = _first_in_doubt(journal, channel)
    keep = terminals | providers
    read = [0]  # rows the progress bar was told of while they streamed
    if keep:
        pages = journal.scan_ledger(channels=keep)
        keep_lines(
            out,
            pages if progress is None else _counting(pages, progress, read),
            terminals=terminals,
            batched=batched,
        )
    if progress is not None and out.rows > read[0]:
        progress(out.rows - read[0])  # the rest were summed in SQL at once
    return out


def _first_in_doubt(journal: SqlObligations, channel: str) -> list[str]:
    """The ids of a channel's first ``DOUBT_LISTED`` payments in doubt, then refunds, in
    creation (id) order: a bank batch awaiting its results may hold millions."""
    doubt = [Status(s) for s in sorted(IN_DOUBT)]
    ids = [
        r.id
        for r in journal.find(statuses=doubt, channel=channel, kind="payment", limit=DOUBT_LISTED)
    ]
    if len(ids) < DOUBT_LISTED:
        left = DOUBT_LISTED - len(ids)
        ids += [
            r.id for r in journal.find(statuses=doubt, channel=channel, kind="refund", limit=left)
        ]
    return ids


def _counting(
    pages: Iterator[list[LedgerRow]], progress: Callable[[int], None], read: list[int]
) -> Iterator[list[LedgerRow]]:
    for page in pages:
        progress(len(page))
        read[0] += len(page)
        yield page


def _operators(out: Taken, rows: list[tuple[str | None, str, str, str, int, int, Any]]) -> None:
    """Operator totals from SQL's groups, each operator where the journal's storage first
    meets it (the order a scan gives, which the sort by money keeps for ties)."""
    ops = out.operators
    met: dict[str, Any] = {}
    for op, _channel, kind, _status, _n, _moved, first in rows:
        who = op or NO_OPERATOR
        if kind == "payment" and (who not in met or first < met[who]):
            met[who] = first
    for who in sorted(met, key=lambda w: (met[w], w)):
        ops[who] = OperatorTotals(who)
    refunds: list[tuple[str, int]] = []
    for op, channel, kind, status, n, moved, _first in sorted(
        rows, key=lambda r: tuple(map(str, r[:6]))
    ):
        who = op or NO_OPERATOR
        if kind == "refund":
            refunds.append((who, moved))
            continue
        o = ops[who]
        if status == "SUCCEEDED":
            o.payments += n
            o.taken_minor += moved
            o.by_channel[channel] = o.by_channel.get(channel, 0) + moved
        elif status in IN_DOUBT:
            o.in_doubt += n
    for who, moved in refunds:
        if who in ops:
            ops[who].refunded_minor += moved


def judge_open(journal: SqlObligations, staged: Staged) -> int:
    """Judge, range by range, the obligations SQL left open; write the verdicts back, each
    with the concern a person must read (kept in the run's table, read back by
    ``StagedConcerns``), staged as they come and applied at once; how many concerns."""
    found = [0]
    journal.decide_obligations(staged.run, _verdicts(journal, staged, found))
    return found[0]


def _verdicts(
    journal: SqlObligations, staged: Staged, found: list[int]
) -> Iterator[tuple[Any, ...]]:
    """The open obligations' verdicts in roster order, ``_RANGE`` obligations read at a
    time; ``found[0]`` counts the concerns."""
    for first in range(1, staged.count + 1, _RANGE):
        for ob, payments, refunds in journal.open_obligations(
            staged.run, first, first + _RANGE - 1
        ):
            attempts, taken = _attempts(payments, refunds)
            owed, currency = ob[9], ob[10]
            category, got, text, flags = classify(owed, currency, attempts, taken)
            channels = ";".join(dict.fromkeys(a.channel for a in attempts))
            records = ";".join(a.id for a in attempts)
            concern = None
            if category in CONCERNS or flags:
                parts = [text] if category in CONCERNS and text else []
                parts.extend(f"attention: {flag}" for flag in flags)
                concern = "; ".join(parts)
                found[0] += 1
            yield (category.value, got, channels, records, text, concern, ob[0])


class StagedConcerns(Sequence[Concern]):
    """A reconciliation's concerns where the rows are: those of roster lines read from the
    run's table in roster order (a province has hundreds of thousands), then the few kept
    here (money from outside the roster, settlement and arrival findings). Indexing a
    staged one reads up to it; read them before ``close()`` drops the table."""

    def __init__(self, details: StagedDetails, staged: int) -> None:
        self.details, self.run, self.staged = details, details.run, staged
        self.tail: list[Concern] = []

    def __len__(self) -> int:
        return self.staged + len(self.tail)

    def __iter__(self) -> Iterator[Concern]:
        if self.staged:
            if self.details.closed:
                raise JournalError(
                    f"reconciliation run {self.run} was closed: its concerns went with its "
                    "table (read them before close())"
                )
            for page in self.details.journal.obligation_concerns(self.run):
                for line, payer, name, town, village, reference, category, records, text in page:
                    yield Concern(
                        category if Category(category) in CONCERNS else "attention",
                        text,
                        payer=mask_payer(payer),
                        name=name,
                        township=town,
                        village=village,
                        reference=reference,
                        line=int(line),
                        records=tuple(records.split(";")) if records else (),
                    )
        yield from self.tail

    @overload
    def __getitem__(self, index: int) -> Concern: ...

    @overload
    def __getitem__(self, index: slice) -> list[Concern]: ...

    def __getitem__(self, index: int | slice) -> Concern | list[Concern]:
        if isinstance(index, slice):
            picked = range(len(self))[index]
            if not picked:
                return []
            low, high = min(picked), max(picked)
            window = list(islice(iter(self), low, high + 1))
            return [window[i - low] for i in picked]
        at = range(len(self))[index]  # IndexError past either end, as a list's
        if at >= self.staged:
            return self.tail[at - self.staged]
        return next(islice(iter(self), at, None))

    def append(self, concern: Concern) -> None:
        """Add a concern after the others (kept here: it has no roster line)."""
        self.tail.append(concern)

    def extend(self, concerns: Iterable[Concern]) -> None:
        """Add concerns after the others."""
        self.tail.extend(concerns)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"StagedConcerns({len(self)} concerns, run {self.run})"


def outside_roster(
    journal: SqlObligations, staged: Staged, currency: str, concerns: list[Concern]
) -> GroupTotals:
    """Money and attempts for obligations the roster lacks, per payer and reference."""
    outside = GroupTotals("not in roster")
    for payments, refunds in journal.unrostered(staged.run):
        attempts, taken = _attempts(payments, refunds)
        key = (payments[0].payer_id, payments[0].reference)
        add_outsider(outside, concerns, key, attempts, taken, currency)
    return outside


def group_totals(journal: SqlObligations, staged: Staged, by: str) -> dict[str, GroupTotals]:
    """Totals per township, period or village (``"township village"``), in name order."""
    sums: dict[tuple[str, Category], list[int]] = {}
    for a, b, category, n, owed, got in journal.obligation_totals(staged.run, by):
        name = _group_name(by, a, b)
        found = sums.setdefault((name, Category(category)), [0, 0, 0])
        found[0] += n
        found[1] += owed
        found[2] += got
    groups: dict[str, GroupTotals] = {}
    for (name, category), (n, owed, got) in sorted(sums.items()):
        group = groups.get(name) or groups.setdefault(name, GroupTotals(name))
        group.add(category, owed, got, n)
    return groups


def _group_name(by: str, first: str, second: str) -> str:
    """A group's name as the in-process path names it (an empty township is "—")."""
    if by == "village":
        return f"{first or '—'} {second or '—'}"
    return (first or "—") if by == "township" else first


def _attempts(payments: list[LedgerRow], refunds: list[LedgerRow]) -> tuple[list[Attempt], Taken]:
    """One obligation's payments as ``Attempt``\\ s and its refunds, as ``classify`` reads them."""
    attempts = [
        Attempt(
            r.id,
            r.reference,
            r.channel,
            r.status,
            r.amount_minor,
            r.taken_minor,
            r.operator,
            r.attention,
            r.reason,
            r.currency,
        )
        for r in payments
    ]
    taken = Taken()
    for r in refunds:
        taken.refunds.setdefault(r.parent_id or "", []).append(
            RefundLine(r.id, r.status, r.amount_minor, r.taken_minor, r.attention)
        )
    return attempts, taken


if __name__ == "__main__":
    _child_main()
