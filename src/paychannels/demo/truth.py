"""The journal against each simulator's own ledger, and what became of every fault.

The simulators know what really happened: the terminal's journal, the provider's book, the
bank's ledger. Money a simulator took that the journal does not credit — for a payment the
journal has in another state, or for one it has no record of at all — is *lost*; a payment
it took twice is *doubled*; one the journal credits that the simulator never took is
*unconfirmed*. The demo passes only when all three are zero and no simulator saw anything
that must not happen (``Running.audit``).
"""

from __future__ import annotations

from typing import Any

from paychannels.collector import Collector
from paychannels.demo.drivers import Fault, Plan
from paychannels.reconcile import Reconciliation
from paychannels.reconcile.taken import receipt_of
from paychannels.values.errors import PaymentNotFound
from paychannels.values.status import Status

__all__ = ["check_truth", "fault_outcomes"]

_DOUBT = {Status.DISPATCHED, Status.PENDING, Status.UNKNOWN, Status.NEEDS_ATTENTION}


def check_truth(col: Collector, plans: dict[str, Plan]) -> dict[str, Any]:
    """Counts of lost, doubled and unconfirmed payments, with the first few of each, and
    the simulators' own findings (``problems``)."""
    truth = {name: plan.running.truth() for name, plan in plans.items()}
    matched: dict[str, set[str]] = {name: set() for name in truth}
    found: dict[str, list[str]] = {"lost": [], "doubled": [], "unconfirmed": []}
    for page in col.journal.scan_ledger():
        for row in page:
            if row.kind != "payment" or row.channel not in truth:
                continue
            taken = truth[row.channel]
            key = row.id
            if key not in taken and (receipt := receipt_of(row.channel_ref)) is not None:
                key = f"receipt:{receipt}"  # booked for a process that died before it knew
            times = taken.get(key, 0)
            if times:
                matched[row.channel].add(key)
            if times > 1:
                found["doubled"].append(row.id)
            if times and row.status != "SUCCEEDED":
                found["lost"].append(row.id)
            if not times and row.status == "SUCCEEDED":
                found["unconfirmed"].append(row.id)
    for name, taken in truth.items():  # money taken for payments the journal never had
        found["lost"] += [f"{name}:{key}" for key in taken if key not in matched[name]]
    out: dict[str, Any] = {k: len(v) for k, v in found.items()}
    out["examples"] = {k: v[:10] for k, v in found.items() if v}
    out["problems"] = [text for plan in plans.values() for text in plan.running.audit()]
    return out


def fault_outcomes(col: Collector, faults: list[Fault], rec: Reconciliation) -> None:
    """Fill in each fault's outcome: the payment's final state and what the payer's
    obligation came to in the end; resolved, or for a person."""
    wanted = {f.payment for f in faults if f.payment}
    payer_came_to: dict[str, str] = {}
    for row in rec.details():
        for rid in row.records.split(";"):
            if rid in wanted:
                payer_came_to[rid] = row.category.value
    for fault in faults:
        if not fault.payment:
            # a fault of the channel (a result file), seen to be handled; or a payer's fault
            # for which no payment was made at all: open
            fault.resolved = fault.payer == "" and bool(fault.outcome) and not fault.problem
            fault.outcome = fault.outcome or "no payment was made"
            continue
        try:
            record = col.status(fault.payment)
        except PaymentNotFound:
            fault.outcome = "the payment is not in the journal"
            continue
        final = record.status.value + (
            f" ({record.amount_taken} taken)" if record.status is Status.SUCCEEDED else ""
        )
        refunds = col.find(parent_id=record.id, limit=10)
        if refunds:
            final += "; refunded: " + ", ".join(r.status.value for r in refunds)
        final += f" -> payer {payer_came_to.get(record.id, 'n/a')}"
        fault.outcome = f"{fault.outcome}; {final}" if fault.outcome else final
        succeeded = [e for e in col.events(payment_id=record.id) if e.to_status is Status.SUCCEEDED]
        if len(succeeded) > 1:
            fault.problem = f"the journal recorded its success {len(succeeded)} times"
        fault.resolved = record.status not in _DOUBT and not fault.problem
        if record.attention or record.status is Status.NEEDS_ATTENTION:
            fault.attention = record.attention or record.reason_detail or "needs a person"
