"""Resubmitting retryable failed debits: a new payment, a new end-to-end id, linked back.

A debit the bank refused for a retryable reason (insufficient funds, a bad date; see the
reason table) gets another attempt: a new payment for the same payer and obligation, with an
idempotency key derived from the first attempt's (``<key>~r1``, ``~r2``...) so running this
twice never makes two, metadata linking it to the attempt it retries (``retry_of``,
``retry_of_ref``: its end-to-end id, written as the new debit's ``InstrId``) and a
collection date ``retry_days`` business days on. Final reasons (account closed, no mandate,
payer deceased) are never retried, and no obligation gets more than ``retries`` resubmissions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

from paychannels.bankfiles.reasoncodes import code_of, lookup
from paychannels.channels.base import Channel
from paychannels.runtime.clock import Clock
from paychannels.values.errors import AlreadyInDoubt, AlreadyPaid, PaychannelsError
from paychannels.values.models import Payment, PaymentRequest, Record
from paychannels.values.status import Status

if TYPE_CHECKING:
    from paychannels.channels.bank.channel import BankBatchChannel

__all__ = ["Collecting", "ResubmitSummary", "resubmit_retryable"]


class Collecting(Protocol):
    """What resubmitting needs of the backend (a ``Collector`` is one): its clock, the
    channel by name, records by filter, and ``collect_many``. The bank channel states what
    it needs here instead of knowing the Collector above it."""

    @property
    def clock(self) -> Clock: ...

    def channel(self, name: str) -> Channel: ...

    def find(self, /, **filters: Any) -> list[Record]: ...

    def collect_many(
        self, requests: Sequence[PaymentRequest], channel: str, *, defer: bool = False
    ) -> list[Payment | PaychannelsError]: ...


@dataclass
class ResubmitSummary:
    """What one resubmission pass did."""

    examined: int = 0
    resubmitted: list[str] = field(default_factory=list)
    final: int = 0
    capped: int = 0
    settled_elsewhere: int = 0
    errors: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """For ``--json``."""
        return {
            "examined": self.examined,
            "resubmitted": len(self.resubmitted),
            "final": self.final,
            "capped": self.capped,
            "settled_elsewhere": self.settled_elsewhere,
            "errors": dict(self.errors),
        }


def _key(record: Record, n: int) -> str:
    root = record.metadata.get("retry_root", record.idempotency_key)
    key = f"{root}~r{n}"
    if len(key) > 128:
        key = f"retry-{hashlib.sha256(root.encode()).hexdigest()[:40]}~r{n}"
    return key


def _retry_request(record: Record, n: int, when: date) -> PaymentRequest:
    metadata = dict(record.metadata)
    metadata.update(
        {
            "retry": str(n),
            "retry_of": record.id,
            "retry_of_ref": record.channel_ref or "",
            "retry_root": record.metadata.get("retry_root", record.idempotency_key),
            "collection_date": when.isoformat(),
        }
    )
    return PaymentRequest(
        payer_id=record.payer_id,
        amount=record.amount,
        reference=record.reference,
        idempotency_key=_key(record, n),
        payer_name=record.payer_name,
        region=record.region,
        operator=record.operator,
        period=record.period,
        description=record.description,
        metadata=metadata,
    )


def resubmit_retryable(collector: Collecting, channel: str) -> ResubmitSummary:
    """Resubmit every retryable declined debit of a bank channel that has retries left."""
    ch: BankBatchChannel = collector.channel(channel)  # type: ignore[assignment]
    summary = ResubmitSummary()
    when = ch.earliest_collection(collector.clock.now(), after_days=ch.retry_days)
    requests: list[PaymentRequest] = []
    for record in _declined(collector, channel):
        summary.examined += 1
        rc = lookup(code_of(record.reason_detail))
        done = int(record.metadata.get("retry", "0"))
        if not rc.known or not rc.retryable:
            summary.final += 1
        elif done >= ch.retries:
            summary.capped += 1
        elif _settled(collector, record):
            summary.settled_elsewhere += 1
        else:
            requests.append(_retry_request(record, done + 1, when))
    for item in collector.collect_many(requests, channel=channel) if requests else []:
        if isinstance(item, Payment):
            summary.resubmitted.append(item.id)
        elif isinstance(item, AlreadyInDoubt | AlreadyPaid):  # another attempt won meanwhile
            summary.settled_elsewhere += 1
        elif isinstance(item, PaychannelsError):
            summary.errors[type(item).__name__] = str(item)
    return summary


def _declined(collector: Collecting, channel: str) -> Iterator[Record]:
    after: str | None = None
    while True:
        page = collector.find(
            statuses=[Status.DECLINED], channel=channel, kind="payment", after_id=after, limit=1000
        )
        yield from page
        if len(page) < 1000:
            return
        after = page[-1].id


def _settled(collector: Collecting, record: Record) -> bool:
    """Whether the obligation was met, is being attempted, or was retried already."""
    others = collector.find(
        payer_id=record.payer_id, reference=record.reference, kind="payment", limit=100
    )
    busy = (Status.SUCCEEDED, Status.PENDING, Status.DISPATCHED, Status.UNKNOWN, Status.CREATED)
    return any(o.id != record.id and (o.id > record.id or o.status in busy) for o in others)
