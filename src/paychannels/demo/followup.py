"""After the collection: resolving what is in doubt, and the office's follow-up work.

``settle_in_doubt`` waits for the providers' callbacks, then runs recovery until nothing
is in doubt (asking terminals and providers), sending again what provably never left.
``follow_up`` does what a collection office does the same day: a payer who already paid in
the app tries to pay again at the hall (it happens) and the journal refuses it as already
paid (a duplicate from elsewhere would be found by a preliminary reconciliation and
refunded); the rest of a partial debit (a deliberate ``pay_again``), and half of the payers whose
debit failed or whose QR order lapsed, are paid at the hall; unpaid QR orders are closed.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from paychannels.collector import Collector
from paychannels.console.progress import Progress
from paychannels.demo.dice import Dice
from paychannels.demo.drivers import Fault, Plan, request_for
from paychannels.reconcile import Category, reconcile
from paychannels.security.masking import mask_id_number
from paychannels.values.errors import AlreadyPaid, PaychannelsError
from paychannels.values.models import PaymentRequest
from paychannels.values.money import Money
from paychannels.values.status import Status

__all__ = ["follow_up", "settle_in_doubt"]

_IN_DOUBT = [Status.DISPATCHED, Status.UNKNOWN]


def _count(col: Collector, statuses: list[Status], channels: list[str]) -> int:
    counts = col.journal.count_by_status()
    if not channels:
        return sum(counts.get(s, 0) for s in statuses)
    return sum(col.journal.count_by_status(channel=c).get(s, 0) for c in channels for s in statuses)


def settle_in_doubt(
    col: Collector, plans: dict[str, Plan], *, stream: Any = None, wait: float = 30.0
) -> None:
    """Let callbacks arrive, then recover until nothing is in doubt (a few passes)."""
    mobile = [n for n, p in plans.items() if p.channel.style == "async"]
    abandoned = {f.payment for p in plans.values() for f in p.found if f.fault == "abandoned order"}
    deadline = time.monotonic() + wait
    with Progress("waiting for callbacks", stream=stream) as bar:
        while time.monotonic() < deadline:
            pending = _count(col, [Status.PENDING], mobile)
            bar.advance(0)
            if pending <= len(abandoned):
                break
            time.sleep(0.25)
    with Progress("recovering", stream=stream) as bar:
        for _ in range(5):
            report = col.recover()
            bar.advance(report.examined)
            resent = _resend(col)
            if not resent and not _count(col, _IN_DOUBT, []):
                return


def _resend(col: Collector) -> int:
    """Send again (same key) what recovery found never left — but a scanned code payment:
    its code is gone (never stored), the payer scans a new one (a new attempt)."""
    sent = 0
    after: str | None = None
    while True:
        page = col.find(statuses=[Status.NOT_SENT], kind="payment", after_id=after, limit=500)
        for record in page:
            if record.scanned_code is not None:
                continue
            try:
                col.collect(record.request(), channel=record.channel)
            except PaychannelsError:
                continue
            sent += 1
        if len(page) < 500:
            return sent
        after = page[-1].id


def follow_up(col: Collector, plans: dict[str, Plan], roster: Path, dice: Dice) -> list[str]:
    """The office's same-day follow-up; what was done, for the summary."""
    hall = next(p for p in plans.values() if p.channel.style == "sync")
    notes: list[str] = []
    closed = _close_open_orders(col, plans)
    notes.append(f"closed {closed} unpaid QR order(s) at the end of the day")
    twice = _pay_again_at_hall(col, plans, hall, dice)
    with reconcile(col.journal, roster) as rec:  # what to act on, read before acting on it
        todo = [
            (row, payer)
            for row, payer in rec.details_with_ids()
            if row.category in (Category.PAID_TWICE, Category.PARTLY_PAID, Category.UNPAID)
        ]
    refunded = rest = fallback = 0
    for row, payer in todo:
        ids = [i for i in row.records.split(";") if i]
        if row.category is Category.PAID_TWICE:
            refunded += _refund_latest(col, ids)
        elif row.category is Category.PARTLY_PAID:
            rest += _pay(col, hall, payer, row, row.owed_minor - row.received_minor, "rest")
        elif row.category is Category.UNPAID and ids and dice.chance(0.5, "to the hall", payer):
            fallback += _pay(col, hall, payer, row, row.owed_minor, "hall")
    for fault in twice:
        fault.outcome = "found by the preliminary reconciliation and refunded"
    notes.append(
        f"refunded {refunded} duplicate payment(s); {rest} payer(s) paid the rest of a "
        f"partial debit and {fallback} paid at the hall after a failed attempt"
    )
    return notes


def _close_open_orders(col: Collector, plans: dict[str, Plan]) -> int:
    closed = 0
    for name, plan in plans.items():
        if plan.channel.style != "async":
            continue
        for record in col.find(statuses=[Status.PENDING], channel=name, limit=100_000):
            try:
                col.cancel(record.id)
                closed += 1
            except PaychannelsError:
                continue
    return closed


def _pay_again_at_hall(
    col: Collector, plans: dict[str, Plan], hall: Plan, dice: Dice
) -> list[Fault]:
    """A few payers who paid in the app come to the hall and pay again."""
    found: list[Fault] = []
    for plan in plans.values():
        if plan.channel.style != "async":
            continue
        for entry in plan.payers[5:8]:
            fault = Fault(
                hall.channel.name,
                "paid twice (in the app, then at the hall)",
                mask_id_number(entry.payer_id),
            )
            try:
                p = col.collect(
                    request_for(entry, hall.channel, dice, key_suffix="~again"),
                    channel=hall.channel.name,
                )
            except AlreadyPaid as exc:  # the journal's rule: a paid obligation is not retaken
                fault.payment = exc.payment_id
                fault.outcome = f"refused at the hall: already paid by {exc.payment_id}"
                hall.found.append(fault)
                continue
            except PaychannelsError:
                continue
            fault.payment = p.id
            hall.found.append(fault)
            found.append(fault)
    return found


def _refund_latest(col: Collector, ids: list[str]) -> int:
    held = [col.status(i) for i in ids]
    for record in sorted(held, key=lambda r: r.created_at, reverse=True):
        if (
            record.status is not Status.SUCCEEDED
            or not col.channel(record.channel).capabilities.refund
        ):
            continue
        try:
            col.refund(record.id)
        except PaychannelsError:
            continue
        return 1
    return 0


def _pay(col: Collector, hall: Plan, payer: str, row: Any, minor: int, why: str) -> int:
    if minor <= 0:
        return 0
    request = PaymentRequest(
        payer_id=payer,
        amount=Money.of_minor(minor, row.currency),
        reference=row.reference,
        idempotency_key=f"{why}:{row.line}:{payer}"[:128],
        payer_name=row.name,
        operator=hall.channel.clerk,
        period=row.period,
        pay_again=why == "rest",  # the rest of a partial debit: a second payment on purpose
    )
    try:
        return int(col.collect(request, channel=hall.channel.name).status is Status.SUCCEEDED)
    except PaychannelsError:
        return 0
