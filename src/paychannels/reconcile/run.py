"""``reconcile``: the roster against the journal and the channels' own figures, in one pass.

The roster is read (in a second process when it is big) while the journal is streamed;
then every obligation gets its category, every channel's settlement figures are checked,
and the totals per township, period, channel and collecting operator are added up.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from paychannels.channels.settlement import Settlement, SettlementKind, recorded_settlements
from paychannels.documents.roster import RosterError, RosterOptions
from paychannels.journal import Journal, open_journal
from paychannels.journal.base import LedgerRow
from paychannels.journal.obligations import SqlObligations
from paychannels.reconcile.arrivals import ArrivalRules, arrival_concerns, check_arrivals
from paychannels.reconcile.checks import check_channels
from paychannels.reconcile.classify import classify
from paychannels.reconcile.indb import (
    StagedConcerns,
    StagedDetails,
    Staging,
    gather_totals,
    group_totals,
    judge_open,
    outside_roster,
)
from paychannels.reconcile.model import CONCERNS, Category, ChannelCheck, Concern, GroupTotals
from paychannels.reconcile.owed import Owed, start_reading
from paychannels.reconcile.quiet_gc import quiet_gc
from paychannels.reconcile.result import (
    ColumnDetails,
    ConcernSequence,
    Details,
    Reconciliation,
    add_outsider,
    mask_payer,
)
from paychannels.reconcile.taken import Attempt, Taken, gather
from paychannels.runtime.countytime import CountyTime

__all__ = ["IN_DATABASE_FROM", "reconcile"]

#: totals per group name (township, period or village)
Groups = dict[str, GroupTotals]


def reconcile(
    journal: Journal | str,
    roster: str | Path,
    *,
    encoding: str = "auto",
    options: RosterOptions | None = None,
    progress: Callable[[int], None] | None = None,
    statements: Sequence[str | Path] = (),
    rules: ArrivalRules | None = None,
    statement_layout: str = "icbc",
    county: CountyTime | None = None,
    in_database: bool | None = None,
) -> Reconciliation:
    """Reconcile a roster against a journal (an open ``Journal`` or its URL).

    ``in_database=True``: the roster is staged beside the journal and joined in SQL
    (``reconcile.indb``), so memory does not grow with the number of payers; the result's
    rows are read from that table until ``rec.close()`` (or the result's end) drops it — an
    open ``Journal`` passed in must stay open that long. ``False``: everything in this
    process (the roster read alongside by a second one), faster for a county on SQLite.
    ``None`` (default): in the database on PostgreSQL, and on SQLite for a roster of
    ``IN_DATABASE_FROM`` bytes or more (about 600,000 payers) — except on a read-only session
    (a read replica), which cannot hold the staging table: there in this process.

    ``progress(n)`` is called as journal records are read (for a progress bar).
    ``statements``: the collection account's statements (camt.053 or a text export in
    ``statement_layout``); with them every settlement is matched to its arrival on the
    account under ``rules`` (``rec.arrivals``, the third level). ``county``: the clock and
    time zone the report is stamped in (default: now, Asia/Shanghai).

    ``RosterError`` (listing every problem of the file) when the roster has problems: an
    obligation that cannot be read cannot be reconciled.
    """
    own = isinstance(journal, str)
    j = open_journal(journal) if isinstance(journal, str) else journal
    clock = _Phases()
    if isinstance(j, SqlObligations) and _in_db(j, roster, in_database):
        try:
            if own:
                j.check_schema()
            settlements = recorded_settlements(j)
            url = journal if isinstance(journal, str) else _reopenable(j.url)
            staging = Staging(j, url, roster, encoding, options)
            rec = _in_database(j, staging, roster, settlements, progress, county, clock, own=own)
        except BaseException:
            if own:
                j.close()
            raise
        return _with_arrivals(rec, settlements, statements, rules, statement_layout, clock)
    try:
        if own:
            j.check_schema()
        reading = start_reading(roster, encoding=encoding, options=options)
        clock.lap("started")
        settlements = recorded_settlements(j)
        pages = j.scan_ledger()
        taken = gather(
            pages if progress is None else _counting(pages, progress), **_kept(settlements)
        )
        clock.lap("journal")
        owed = reading.result().checked()
        clock.lap("roster wait")
        url = j.url
    finally:
        if own:
            j.close()
    with quiet_gc():
        checks = check_channels(settlements, taken)
        clock.lap("checks")
        rec = _assemble(owed, taken, checks, url, county or CountyTime())
        clock.lap("assemble")
    return _with_arrivals(rec, settlements, statements, rules, statement_layout, clock)


#: rosters at least this big (bytes) are reconciled in the database on SQLite too
IN_DATABASE_FROM = 64 << 20


def _in_db(j: SqlObligations, roster: str | Path, asked: bool | None) -> bool:
    """Whether to join in the database: as asked, else on PostgreSQL or for a big roster —
    where the session may write its staging table (not on a read replica)."""
    if asked is not None:
        return asked
    size = Path(roster).stat().st_size if Path(roster).is_file() else 0
    return (j.dialect == "postgres" or size >= IN_DATABASE_FROM) and j.can_stage()


def _kept(settlements: Mapping[str, Sequence[Settlement]]) -> dict[str, frozenset[str]]:
    """The channels whose rows settlement figures are compared with, by kind."""
    kinds = {name: {s.kind for s in found} for name, found in settlements.items()}
    return {
        "terminals": frozenset(n for n, k in kinds.items() if SettlementKind.TERMINAL in k),
        "providers": frozenset(n for n, k in kinds.items() if SettlementKind.PROVIDER in k),
        "batched": frozenset(n for n, found in settlements.items() if any(s.batch for s in found)),
    }


def _reopenable(url: str) -> str | None:
    """A journal URL a second process can open (not in memory, no password masked)."""
    return None if ":memory:" in url or "***" in url else url


def _in_database(
    j: SqlObligations,
    staging: Staging,
    roster: str | Path,
    settlements: dict[str, list[Settlement]],
    progress: Callable[[int], None] | None,
    county: CountyTime | None,
    clock: _Phases,
    *,
    own: bool,
) -> Reconciliation:
    """The roster staged and joined in SQL (``reconcile.indb``)."""
    details = StagedDetails(j, staging.run, own=own)  # from here on it drops the table
    try:
        clock.lap("started")
        taken = gather_totals(j, progress=progress, **_kept(settlements))
        clock.lap("journal")
        staged = staging.result()
        clock.lap("roster staged")
        clock.laps.update(staged.laps)
        if staged.problems:
            raise RosterError(staged.problems)
        currency = staged.currency or "CNY"
        concerns = StagedConcerns(details, judge_open(j, staged))
        clock.lap("judged")
        outsiders: list[Concern] = []
        outside = outside_roster(j, staged, currency, outsiders)
        concerns.extend(outsiders)
        townships = group_totals(j, staged, "township")
        periods = group_totals(j, staged, "period")
        villages = group_totals(j, staged, "village")
        clock.lap("totals")
        with quiet_gc():
            checks = check_channels(settlements, taken)
        clock.lap("checks")
    except BaseException:
        staging.abandon()
        details.close()
        raise
    totals = GroupTotals("all")
    for group in townships.values():
        for category, n in sorted(group.counts.items()):
            owed, got = group.money[category]
            totals.add(Category(category), owed, got, n)
    return _result(
        county or CountyTime(),
        Path(roster).name,
        j.url,
        currency,
        (totals, townships, periods, villages),
        taken,
        checks,
        concerns,
        outside,
        details,
    )


def _result(
    county: CountyTime,
    roster: str,
    url: str,
    currency: str,
    groups: tuple[GroupTotals, Groups, Groups, Groups],
    taken: Taken,
    checks: list[ChannelCheck],
    concerns: ConcernSequence,
    outside: GroupTotals,
    details: Details,
) -> Reconciliation:
    """The result, put together one way whichever side joined: ``groups`` are the totals,
    per township, per period and per village; channels by name, operators by money held,
    the settlement findings after the obligations' concerns."""
    totals, townships, periods, villages = groups
    concerns.extend(_settlement_concerns(checks))
    return Reconciliation(
        generated_at=county.clock.now(),
        zone=county.zone_name,
        journal=url,
        roster=roster,
        currency=currency,
        totals=totals,
        townships=townships,
        periods=periods,
        villages=villages,
        channels=sorted(taken.channels.values(), key=lambda c: c.channel),
        operators=sorted(taken.operators.values(), key=lambda o: -o.held_minor),
        checks=checks,
        concerns=concerns,
        outside=outside,
        journal_rows=taken.rows,
        _details=details,
    )


def _settlement_concerns(checks: list[ChannelCheck]) -> list[Concern]:
    """Every difference a channel's figures show, and every channel left unchecked."""
    out: list[Concern] = []
    for check in checks:
        for stmt in check.statements:
            for text in stmt.differences:
                out.append(Concern("settlement", f"{check.channel}: {stmt.source}: {text}"))
        if check.status == "unchecked":
            out.extend(Concern("settlement", f"{check.channel}: {n}") for n in check.notes)
    return out


def _with_arrivals(
    rec: Reconciliation,
    settlements: Mapping[str, Sequence[Settlement]],
    statements: Sequence[str | Path],
    rules: ArrivalRules | None,
    statement_layout: str,
    clock: _Phases,
) -> Reconciliation:
    """The third level, when statements are given: settlements against the account."""
    if statements:
        rec.arrivals = check_arrivals(
            settlements,
            {c.channel: c.held_minor for c in rec.channels},
            [Path(p) for p in statements],
            rules or ArrivalRules(),
            currency=rec.currency,
            layout=statement_layout,
        )
        rec.concerns.extend(arrival_concerns(rec.arrivals))
        clock.lap("arrivals")
    rec.timings = clock.laps
    return rec


class _Phases:
    """Seconds per phase, for the benchmark and ``--debug``."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._last, 4)
        self._last = now


def _counting(
    pages: Iterator[list[LedgerRow]], progress: Callable[[int], None]
) -> Iterator[list[LedgerRow]]:
    for page in pages:
        progress(len(page))
        yield page


def _assemble(
    owed: Owed, taken: Taken, checks: list[ChannelCheck], url: str, county: CountyTime
) -> Reconciliation:
    currency = owed.currency[0] if len(owed) else "CNY"
    categories: list[Category] = []
    received = array("q")
    why: dict[int, str] = {}
    found: list[list[Attempt] | None] = []
    concerns: list[Concern] = []
    by_payer = taken.attempts
    unpaid = Category.UNPAID
    for i, (payer, reference) in enumerate(zip(owed.payer_id, owed.reference, strict=True)):
        attempts = by_payer.get(payer)
        if attempts is not None:
            if len(attempts) == 1 and attempts[0].reference == reference:
                del by_payer[payer]  # the common case: one payment, for this obligation
            else:
                attempts = _take(by_payer, payer, reference)
        found.append(attempts)
        if attempts is None:  # nobody tried: the commonest case after "paid", quickly
            categories.append(unpaid)
            received.append(0)
            continue
        category, got, text, flags = classify(owed.owed[i], owed.currency[i], attempts, taken)
        categories.append(category)
        received.append(got)
        if text:
            why[i] = text
        if category in CONCERNS or flags:
            concerns.append(_concern(owed, i, category, text, flags, attempts))
    totals = _groups(categories, owed.owed, received, None)["all"]
    townships = _groups(categories, owed.owed, received, [t or "—" for t in owed.township])
    periods = _groups(categories, owed.owed, received, owed.period)
    villages = _groups(
        categories,
        owed.owed,
        received,
        [f"{t or '—'} {v or '—'}" for t, v in zip(owed.township, owed.village, strict=True)],
    )
    outside = GroupTotals("not in roster")
    left: dict[tuple[str, str], list[Attempt]] = {}
    for a_payer, items in by_payer.items():
        for a in items:
            left.setdefault((a_payer, a.reference), []).append(a)
    for key, attempts in sorted(left.items()):
        add_outsider(outside, concerns, key, attempts, taken, currency)
    return _result(
        county,
        owed.file,
        url,
        currency,
        (totals, townships, periods, villages),
        taken,
        checks,
        concerns,
        outside,
        ColumnDetails(owed, categories, received, why, found),
    )


def _take(by_payer: dict[str, list[Attempt]], payer: str, reference: str) -> list[Attempt] | None:
    """A payer's payments for one reference, taken out of ``by_payer``."""
    attempts = by_payer[payer]
    mine = [a for a in attempts if a.reference == reference]
    rest = [a for a in attempts if a.reference != reference]
    if rest:
        by_payer[payer] = rest
    else:
        del by_payer[payer]
    return mine or None


def _groups(
    categories: list[Category], owed: array[int], received: array[int], names: list[str] | None
) -> dict[str, GroupTotals]:
    """Totals per group name (``None``: one group, ``all``), by category, in name order."""
    sums: dict[tuple[str, Category], list[int]] = {}
    keys = (
        zip(names, categories, strict=True)
        if names is not None
        else (("all", c) for c in categories)
    )
    for key, o, r in zip(keys, owed, received, strict=True):
        found = sums.get(key)
        if found is None:
            sums[key] = [1, o, r]
        else:
            found[0] += 1
            found[1] += o
            found[2] += r
    groups: dict[str, GroupTotals] = {}
    for (name, category), (n, o, r) in sorted(sums.items()):
        group = groups.get(name)
        if group is None:
            group = groups[name] = GroupTotals(name)
        group.add(category, o, r, n)
    return groups if groups or names is not None else {"all": GroupTotals("all")}


def _concern(
    owed: Owed,
    i: int,
    category: Category,
    text: str,
    flags: tuple[str, ...],
    attempts: list[Attempt] | None,
) -> Concern:
    parts = [text] if category in CONCERNS and text else []
    parts.extend(f"attention: {flag}" for flag in flags)
    return Concern(
        category.value if category in CONCERNS else "attention",
        "; ".join(parts),
        payer=mask_payer(owed.payer_id[i]),
        name=owed.name[i],
        township=owed.township[i],
        village=owed.village[i],
        reference=owed.reference[i],
        line=owed.line[i],
        records=tuple(a.id for a in attempts or ()),
    )
