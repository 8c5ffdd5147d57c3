"""What was taken: the journal streamed once and gathered per obligation, channel and operator.

Rows come from ``Journal.scan_ledger`` (plain tuples from one snapshot). Each payment is
kept as a small ``Attempt`` under its obligation; refunds under the payment they give back;
per channel and per collecting operator the money is summed as it streams past. For
channels with settlement figures the rows those figures are compared with are kept too:
receipt numbers for terminals (batch numbers for those whose ``channel_ref`` names the batch,
as MIS-POS does), record ids and days for provider bills.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import NamedTuple

from paychannels.journal.base import LedgerRow
from paychannels.reconcile.model import OperatorTotals
from paychannels.reconcile.quiet_gc import quiet_gc
from paychannels.runtime.clock import BEIJING

__all__ = [
    "DOUBT_LISTED",
    "IN_DOUBT",
    "NO_OPERATOR",
    "Attempt",
    "ChannelTotals",
    "Line",
    "RefundLine",
    "Taken",
    "batch_of",
    "gather",
    "keep_lines",
    "receipt_of",
]

IN_DOUBT = frozenset({"DISPATCHED", "PENDING", "UNKNOWN", "NEEDS_ATTENTION"})
#: in-doubt ids a settlement check names per channel (the database path reads no more)
DOUBT_LISTED = 20
#: the operator shown for money nobody collected by hand (the payer's app, a bank debit)
NO_OPERATOR = "(none: payer's own app or bank debit)"


class Attempt(NamedTuple):
    """One payment for an obligation."""

    id: str
    reference: str
    channel: str
    status: str
    amount: int
    taken: int | None
    operator: str | None
    attention: str | None
    reason: str | None
    currency: str


class RefundLine(NamedTuple):
    """One refund of a payment."""

    id: str
    status: str
    amount: int
    taken: int | None
    attention: str | None


class Line(NamedTuple):
    """A record as a settlement statement sees it."""

    id: str
    kind: str
    status: str
    minor: int  # what moved: taken (or asked, before an answer)
    created: datetime  # when the intent was journaled (terminal batches)
    updated: datetime  # when it last changed

    @property
    def days(self) -> tuple[str, str]:
        """Created and last changed, as Beijing dates (provider bills are per such day)."""
        return _day(self.created), _day(self.updated)


@dataclass
class ChannelTotals:
    """A channel's payments by status and the money it holds per the journal."""

    channel: str
    payments: dict[str, int] = field(default_factory=dict)
    taken_minor: int = 0
    succeeded: int = 0
    refunds: int = 0
    refunded_minor: int = 0

    @property
    def held_minor(self) -> int:
        """Taken less given back by refunds."""
        return self.taken_minor - self.refunded_minor

    @property
    def in_doubt(self) -> int:
        """Payments whose outcome is not known yet."""
        return sum(n for status, n in self.payments.items() if status in IN_DOUBT)

    def as_dict(self) -> dict[str, object]:
        """For ``--json``."""
        return {
            "channel": self.channel,
            "payments": dict(self.payments),
            "succeeded": self.succeeded,
            "taken_minor": self.taken_minor,
            "refunds": self.refunds,
            "refunded_minor": self.refunded_minor,
            "held_minor": self.held_minor,
            "in_doubt": self.in_doubt,
        }


@dataclass
class Taken:
    """Everything the journal holds, gathered for reconciliation."""

    #: payer id -> that payer's payments (for any reference)
    attempts: dict[str, list[Attempt]] = field(default_factory=dict)
    refunds: dict[str, list[RefundLine]] = field(default_factory=dict)
    channels: dict[str, ChannelTotals] = field(default_factory=dict)
    operators: dict[str, OperatorTotals] = field(default_factory=dict)
    #: terminal channel -> receipt number -> the records booked under it
    receipts: dict[str, dict[int, list[Line]]] = field(default_factory=dict)
    #: terminal channel whose refs name the batch -> batch number -> the records booked in it
    batches: dict[str, dict[int, list[Line]]] = field(default_factory=dict)
    #: terminal channel -> its records that name no receipt (or batch) number
    unreceipted: dict[str, list[Line]] = field(default_factory=dict)
    #: provider channel -> record id -> the record
    records: dict[str, dict[str, Line]] = field(default_factory=dict)
    #: channel -> payments and refunds whose outcome is not known yet (ids; in the database
    #: path only the first ``DOUBT_LISTED``, the rest counted in ``doubt_counts``)
    doubt: dict[str, list[str]] = field(default_factory=dict)
    #: channel -> how many are in doubt, where ``doubt`` lists only the first of them
    doubt_counts: dict[str, int] = field(default_factory=dict)
    rows: int = 0

    def in_doubt_on(self, channel: str) -> int:
        """How many of the channel's payments and refunds are in doubt."""
        return self.doubt_counts.get(channel, len(self.doubt.get(channel, ())))

    def refunded(self, payment_id: str) -> int:
        """Money given back for a payment by refunds that succeeded."""
        return sum(
            r.amount if r.taken is None else r.taken
            for r in self.refunds.get(payment_id, ())
            if r.status == "SUCCEEDED"
        )


def receipt_of(channel_ref: str | None) -> int | None:
    """The receipt number in a ZVT/nexo ``channel_ref`` (``terminal/receipt/trace``)."""
    return _middle(channel_ref)


def batch_of(channel_ref: str | None) -> int | None:
    """The batch number in a MIS-POS ``channel_ref`` (``terminal/batch/trace``)."""
    return _middle(channel_ref)


def _middle(channel_ref: str | None) -> int | None:
    """The number in the middle of a terminal's three-place ``channel_ref``."""
    if not channel_ref:
        return None
    parts = channel_ref.split("/")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    return int(parts[1])


def _day(moment: datetime) -> str:
    return moment.astimezone(BEIJING).date().isoformat()


def gather(
    pages: Iterable[list[LedgerRow]],
    *,
    terminals: frozenset[str] = frozenset(),
    providers: frozenset[str] = frozenset(),
    batched: frozenset[str] = frozenset(),
) -> Taken:
    """Stream the journal's rows into a ``Taken``; ``terminals`` and ``providers`` name the
    channels whose settlement figures need their rows kept, ``batched`` the terminals among
    them whose ``channel_ref`` names the batch (not the receipt)."""
    out = Taken()
    attempts, channels, operators = out.attempts, out.channels, out.operators
    keep = terminals | providers
    # a county's rows repeat a few strings (channel, status, period...) 300,000 times: keep
    # one object of each instead of one per row
    strings: dict[str, str] = {}
    one = strings.setdefault
    operator_of: dict[str, str] = {}
    refund_rows: list[LedgerRow] = []
    with quiet_gc():
        for page in pages:
            out.rows += len(page)
            for r in page:
                ch = channels.get(r.channel)
                if ch is None:
                    ch = channels[r.channel] = ChannelTotals(r.channel)
                if r.kind == "refund":
                    refund_rows.append(r)
                    continue
                status, taken, operator = one(r.status, r.status), r.taken_minor, r.operator
                if operator is not None:
                    operator = one(operator, operator)
                ch.payments[status] = ch.payments.get(status, 0) + 1
                attempt = _attempt(
                    (
                        r.id,
                        one(r.reference, r.reference),
                        ch.channel,
                        status,
                        r.amount_minor,
                        taken,
                        operator,
                        r.attention,
                        r.reason and one(r.reason, r.reason),
                        one(r.currency, r.currency),
                    )
                )
                found = attempts.get(r.payer_id)
                if found is None:
                    attempts[r.payer_id] = [attempt]
                else:
                    found.append(attempt)
                who = operator or NO_OPERATOR
                op = operators.get(who)
                if op is None:
                    op = operators[who] = OperatorTotals(who)
                if status == "SUCCEEDED":
                    got = r.amount_minor if taken is None else taken
                    ch.succeeded += 1
                    ch.taken_minor += got
                    op.payments += 1
                    op.taken_minor += got
                    op.by_channel[r.channel] = op.by_channel.get(r.channel, 0) + got
                elif status in IN_DOUBT:
                    op.in_doubt += 1
                    out.doubt.setdefault(r.channel, []).append(r.id)
                if operator is not None:
                    operator_of[r.id] = who
                if r.channel in keep:
                    _keep(out, r, terminals, batched)
        for r in refund_rows:
            _refund(out, r, operator_of, terminals, keep, batched)
    return out


def keep_lines(
    out: Taken,
    pages: Iterable[list[LedgerRow]],
    *,
    terminals: frozenset[str] = frozenset(),
    batched: frozenset[str] = frozenset(),
) -> None:
    """Keep in ``out`` the rows settlement figures are compared with (receipts, batches,
    bill records) of rows already chosen by channel, payments before refunds as ``gather``
    keeps them; totals are not touched."""
    refunds: list[LedgerRow] = []
    with quiet_gc():
        for page in pages:
            for r in page:
                if r.kind == "refund":
                    refunds.append(r)
                else:
                    _keep(out, r, terminals, batched)
        for r in refunds:
            _keep(out, r, terminals, batched)


_attempt = partial(tuple.__new__, Attempt)
_KINDS = {"payment": "payment", "refund": "refund"}
_STATUSES = {s: s for s in ("SUCCEEDED", "DECLINED", "REVERSED", "PENDING", "UNKNOWN")}


def _refund(
    out: Taken,
    r: LedgerRow,
    operator_of: dict[str, str],
    terminals: frozenset[str],
    keep: frozenset[str],
    batched: frozenset[str],
) -> None:
    parent = r.parent_id or ""
    out.refunds.setdefault(parent, []).append(
        RefundLine(r.id, r.status, r.amount_minor, r.taken_minor, r.attention)
    )
    if r.status == "SUCCEEDED":
        back = r.amount_minor if r.taken_minor is None else r.taken_minor
        ch = out.channels[r.channel]
        ch.refunds += 1
        ch.refunded_minor += back
        who = operator_of.get(parent, NO_OPERATOR)
        op = out.operators.get(who)
        if op is not None:
            op.refunded_minor += back
    elif r.status in IN_DOUBT:
        out.doubt.setdefault(r.channel, []).append(r.id)
    if r.channel in keep:
        _keep(out, r, terminals, batched)


def _keep(out: Taken, r: LedgerRow, terminals: frozenset[str], batched: frozenset[str]) -> None:
    """Keep what a channel's settlement figures are compared with."""
    moved = r.amount_minor if r.taken_minor is None else r.taken_minor
    line = Line(
        r.id, _KINDS[r.kind], _STATUSES.get(r.status, r.status), moved, r.created_at, r.updated_at
    )
    if r.channel in terminals:
        # each terminal's channel_ref read by its own layout: the batch's mark in the middle
        by_batch = r.channel in batched
        number = batch_of(r.channel_ref) if by_batch else receipt_of(r.channel_ref)
        if number is not None:
            marks = out.batches if by_batch else out.receipts
            marks.setdefault(r.channel, {}).setdefault(number, []).append(line)
        else:
            out.unreceipted.setdefault(r.channel, []).append(line)
    else:
        out.records.setdefault(r.channel, {})[r.id] = line
