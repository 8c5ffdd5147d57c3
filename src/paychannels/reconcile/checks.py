"""Each channel's settlement figures against the journal: terminals, provider bills, banks.

- **Terminal** (an end of day): the journal's payments and refunds booked under the batch's
  receipt numbers; the terminal's net total (and count, gross; refund count and sum when it
  reports refunds apart) must equal theirs. Receipt
  numbers wrap at 9999: where one number was used in two batches, the record journaled
  between the previous end of day and this one is this batch's. A terminal whose
  ``channel_ref`` names the batch (MIS-POS settlement) is matched by batch number instead.
  Money the journal credits on a terminal without a receipt (batch) number no end of day can
  confirm: it is unconfirmed.
- **Provider** (a day's bill): line by line — every payment and refund on the bill must be
  in the journal, succeeded, for the same amount (a payment the journal has REVERSED, a
  paid code cancelled, may be listed with its return: the two must net to nothing); every
  payment or refund the journal credits on days the bills cover must be on a bill.
- **Bank** (result files): what the bank says it holds (settled less returned, in every
  result file) must be what the journal holds for the channel.

Money a channel holds that the journal does not credit is *lost*; money the journal
credits that the channel does not show is *unconfirmed*. Both make the day unbalanced.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from paychannels.channels.settlement import Settlement, SettlementKind
from paychannels.reconcile.classify import yuan
from paychannels.reconcile.model import ChannelCheck, StatementCheck
from paychannels.reconcile.taken import DOUBT_LISTED, ChannelTotals, Line, Taken

__all__ = ["check_channels"]

_SHOWN = 20  # differences listed per statement; the rest are counted


def check_channels(settlements: dict[str, list[Settlement]], taken: Taken) -> list[ChannelCheck]:
    """One check per channel that holds money or has settlement figures, by name."""
    out: list[ChannelCheck] = []
    for name in sorted(set(taken.channels) | set(settlements)):
        totals = taken.channels.get(name) or ChannelTotals(name)
        statements = settlements.get(name, [])
        if not statements:
            if totals.succeeded or totals.refunds:
                held = yuan(totals.held_minor, "CNY")
                out.append(
                    ChannelCheck(
                        name,
                        "none",
                        notes=[f"no settlement figures recorded; the journal holds {held}"],
                    )
                )
            continue
        kind = statements[0].kind
        match kind:
            case SettlementKind.TERMINAL:
                out.append(_terminal(name, statements, taken))
            case SettlementKind.PROVIDER:
                out.append(_provider(name, statements, taken))
            case SettlementKind.BANK:
                out.append(_bank(name, statements, totals, taken))
    return out


def _money(stmt: StatementCheck, currency: str) -> None:
    """Record a difference of net money, and which side holds it."""
    gap = stmt.stated_net_minor - stmt.journal_net_minor
    if gap > 0:
        stmt.lost_minor += gap
    elif gap < 0:
        stmt.unconfirmed_minor += -gap
    if gap:
        stmt.differences.insert(
            0,
            f"the statement says {yuan(stmt.stated_net_minor, currency)}, the journal "
            f"{yuan(stmt.journal_net_minor, currency)} ({'+' if gap > 0 else '-'}"
            f"{yuan(abs(gap), currency)} at the channel)",
        )


def _in_range(receipt: int, first: int, last: int) -> bool:
    return first <= receipt <= last if first <= last else receipt >= first or receipt <= last


def _terminal(name: str, statements: Sequence[Settlement], taken: Taken) -> ChannelCheck:
    check = ChannelCheck(name, SettlementKind.TERMINAL.value)
    by_batch = any(s.batch for s in statements)
    booked = (taken.batches if by_batch else taken.receipts).get(name, {})
    covered: set[int] = set()
    since = None
    for s in sorted(statements, key=lambda s: s.recorded_at):
        lines: list[Line] = []
        marks = _marks(s, by_batch)
        if marks is not None:
            first, last = marks
            for number, found in booked.items():
                if _in_range(number, first, last):
                    lines.extend(_of_batch(found, since, s.recorded_at))
                    covered.add(number)
        since = s.recorded_at
        paid = [x for x in lines if x.kind == "payment" and x.status == "SUCCEEDED"]
        back = [x for x in lines if x.kind == "refund" and x.status == "SUCCEEDED"]
        gross = sum(x.minor for x in paid)
        stmt = StatementCheck(
            s.source, s.net_minor, gross - sum(x.minor for x in back), s.payments, len(paid)
        )
        if s.payments is not None and s.payments != len(paid):
            stmt.differences.append(
                f"the terminal counts {s.payments} payments, the journal {len(paid)}"
            )
        if s.refunds is not None:  # the terminal reported its refunds apart: check them too
            _refunds(stmt, s, back)
        if marks is None:
            what = "a batch number" if by_batch else "receipt numbers"
            stmt.differences.append(f"the end of day named no {what}: batch unknown")
        _money(stmt, s.currency)
        if stmt.differences and taken.doubt.get(name):
            stmt.differences.append(
                "in doubt on this terminal: " + ", ".join(taken.doubt[name][:DOUBT_LISTED])
            )
        check.statements.append(stmt)
    mark = "batch number" if by_batch else "receipt number"
    _unreceipted(check, taken.unreceipted.get(name, []), statements[0].currency, mark)
    after = sum(
        1
        for number, found in booked.items()
        if number not in covered and any(x.status == "SUCCEEDED" for x in found)
    )
    if after:
        check.notes.append(f"{after} booking(s) after the last end of day: not settled yet")
    return check


def _marks(s: Settlement, by_batch: bool) -> tuple[int, int] | None:
    """The range of numbers (receipts, or the one batch) that finds the statement's records."""
    if not by_batch:
        return s.receipts
    if s.batch is None or not s.batch.isdigit():
        return None
    return int(s.batch), int(s.batch)


def _refunds(stmt: StatementCheck, s: Settlement, back: list[Line]) -> None:
    """The terminal's refund count and sum against the journal's refunds of the batch."""
    if s.refunds != len(back):
        stmt.differences.append(f"the terminal counts {s.refunds} refunds, the journal {len(back)}")
    held = sum(x.minor for x in back)
    if s.refund_minor is not None and s.refund_minor != held:
        stmt.differences.append(
            f"the terminal's refunds are {yuan(s.refund_minor, s.currency)}, the journal's "
            f"{yuan(held, s.currency)}"
        )


def _unreceipted(check: ChannelCheck, lines: list[Line], currency: str, number: str) -> None:
    """Succeeded records without a receipt (batch) number: no terminal figure covers them."""
    held = [x for x in lines if x.status == "SUCCEEDED"]
    if not held:
        return
    paid = [x for x in held if x.kind == "payment"]
    net = sum(x.minor for x in paid) - sum(x.minor for x in held if x.kind == "refund")
    stmt = StatementCheck(f"records without a {number}", 0, net, 0, len(paid))
    stmt.differences.extend(
        f"the journal credits {x.kind} {x.id} ({yuan(x.minor, currency)}) without a {number}"
        ": no end of day can confirm it"
        for x in held[:_SHOWN]
    )
    _money(stmt, currency)
    _trim(stmt)
    check.statements.append(stmt)


def _of_batch(found: list[Line], since: datetime | None, until: datetime) -> list[Line]:
    """The records of one receipt number that belong to the batch closed at ``until``."""
    if len(found) == 1:
        return found
    return [
        x
        for x in found
        if x.created is not None and x.created <= until and (since is None or x.created > since)
    ]


def _provider(name: str, statements: Sequence[Settlement], taken: Taken) -> ChannelCheck:
    check = ChannelCheck(name, SettlementKind.PROVIDER.value)
    records = taken.records.get(name, {})
    covered = {day for s in statements for day in s.dates}
    billed: set[str] = set()
    stmts: list[StatementCheck] = []
    for s in statements:
        stmt = StatementCheck(s.source, s.net_minor, 0, s.payments, 0)
        returned: dict[str, int] = {}  # reversed payment -> what the bill still holds of it
        for item in s.items or ():
            billed.add(item.record_id)
            line = records.get(item.record_id)
            sign = 1 if item.kind == "payment" else -1
            if line is not None and line.kind == "payment" and line.status == "REVERSED":
                # taken and given back (a paid code cancelled): its trade and its return
                returned[item.record_id] = returned.get(item.record_id, 0) + sign * item.minor
                stmt.journal_count += item.kind == "payment"
                continue
            if line is None or line.kind != item.kind:
                what = "took" if item.kind == "payment" else "gave back"
                stmt.differences.append(
                    f"the provider {what} {yuan(item.minor, s.currency)} for {item.record_id}, "
                    f"the journal has no such {item.kind} on {name}"
                )
                continue
            if line.status != "SUCCEEDED":
                stmt.differences.append(
                    f"the provider lists {item.record_id} ({yuan(item.minor, s.currency)}), "
                    f"the journal says {line.status}"
                )
                continue
            stmt.journal_net_minor += sign * line.minor
            stmt.journal_count += item.kind == "payment"
            if line.minor != item.minor:
                stmt.differences.append(
                    f"{item.record_id}: the provider says {yuan(item.minor, s.currency)}, the "
                    f"journal {yuan(line.minor, s.currency)}"
                )
        for record_id, held in returned.items():
            if held:
                stmt.differences.append(
                    f"the provider holds {yuan(held, s.currency)} for {record_id}, the journal "
                    "says REVERSED (taken and given back)"
                )
        stmts.append(stmt)
    by_day = {day: stmt for s, stmt in zip(statements, stmts, strict=True) for day in s.dates}
    unbilled = 0
    for line in records.values():
        if line.status != "SUCCEEDED" or line.id in billed:
            continue
        if not set(line.days) <= covered:
            unbilled += 1
            continue
        stmt = by_day[max(line.days)]
        sign = 1 if line.kind == "payment" else -1
        stmt.journal_net_minor += sign * line.minor
        stmt.journal_count += line.kind == "payment"
        stmt.differences.append(
            f"the journal credits {line.kind} {line.id} ({yuan(line.minor, 'CNY')}), "
            "the provider's bill does not list it"
        )
    for stmt, s in zip(stmts, statements, strict=True):
        _money(stmt, s.currency)
        _trim(stmt)
    check.statements = stmts
    if unbilled:
        check.notes.append(f"{unbilled} record(s) on days without a downloaded bill")
    return check


def _bank(
    name: str, statements: Sequence[Settlement], totals: ChannelTotals, taken: Taken
) -> ChannelCheck:
    check = ChannelCheck(name, SettlementKind.BANK.value)
    currency = statements[0].currency
    stated = sum(s.net_minor for s in statements)
    holding = sum(s.payments or 0 for s in statements) - sum(s.refunds or 0 for s in statements)
    stmt = StatementCheck(
        f"{len(statements)} result file(s)", stated, totals.held_minor, holding, totals.succeeded
    )
    if holding != totals.succeeded:
        stmt.differences.append(
            f"the bank holds {holding} debits, the journal {totals.succeeded} succeeded"
        )
    _money(stmt, currency)
    if stmt.differences:
        unmatched = sum(_applied(s, "unmatched") + _applied(s, "attention") for s in statements)
        if unmatched:
            stmt.differences.append(f"{unmatched} result row(s) were not credited as stated")
        if taken.in_doubt_on(name):
            stmt.differences.append(f"{taken.in_doubt_on(name)} debit(s) still without a result")
    check.statements.append(stmt)
    for s in statements:
        d = s.detail
        check.notes.append(
            f"{s.source}: settled {_counted(s.payments, s.gross_minor, currency)}, "
            f"returned {_counted(s.refunds, s.refund_minor, currency)}, "
            f"refused {d.get('failed', 0)}, pending {d.get('pending', 0)}"
        )
    return check


def _counted(count: int | None, minor: int | None, currency: str) -> str:
    """``3 (900.00)``, or the sum alone when the file does not state the count."""
    money = yuan(minor or 0, currency)
    return money if count is None else f"{count} ({money})"


def _applied(s: Settlement, what: str) -> int:
    applied = s.detail.get("applied")
    value = applied.get(what) if isinstance(applied, dict) else None
    return value if isinstance(value, int) else 0


def _trim(stmt: StatementCheck) -> None:
    if len(stmt.differences) > _SHOWN + 1:
        more = len(stmt.differences) - _SHOWN
        stmt.differences[_SHOWN:] = [f"... and {more} more"]
