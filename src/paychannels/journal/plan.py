"""Planning a journal write: from a record and ``Change`` steps to new column values and events.

Pure (no database): the guard runs here, so a refused step raises before any statement is
sent, and the single-record and bulk write paths share one definition of what a change does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import JsonValue

from paychannels.journal.base import Change, NewRecord
from paychannels.journal.text import storable_json
from paychannels.values.errors import IllegalTransition, JournalError
from paychannels.values.models import EventType, Payment, PaymentRequest, Record, Refund, trusted
from paychannels.values.status import Status, check_transition

__all__ = [
    "REQUEST_FIELDS",
    "TIMESTAMP_COLUMNS",
    "EventSpec",
    "Plan",
    "code_data",
    "dumps",
    "plan",
    "plan_new",
    "request_digest",
    "request_text",
]

REQUEST_FIELDS = (
    "payer_name",
    "region",
    "operator",
    "period",
    "description",
    "metadata",
    "pay_again",
)
TIMESTAMP_COLUMNS = frozenset({"created_at", "updated_at", "lease_until"})


_CANONICAL = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def dumps(value: object) -> str:
    """Canonical JSON for the journal's text columns (one encoder, not one per call: a
    payment writes some twenty of these)."""
    return _CANONICAL.encode(value)


@dataclass(frozen=True, slots=True)
class EventSpec:
    """An event about to be appended (its ``seq`` comes from the database).

    ``sets`` holds the row's columns this event set, as written: replaying them in order
    rebuilds the row (``journal verify``).
    """

    type: EventType
    from_status: Status | None
    to_status: Status | None
    data: dict[str, JsonValue]
    sets: dict[str, Any] = field(default_factory=dict)


def _changed(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in after.items() if k not in before or before[k] != v}


@dataclass(slots=True)
class Plan:
    """What one write does to one record: the columns to set and the events to append."""

    record: Record
    at: datetime
    columns: dict[str, Any] = field(default_factory=dict)
    events: list[EventSpec] = field(default_factory=list)

    def merge(self, later: Plan) -> None:
        """Fold a later plan for the same record into this one (one UPDATE per record)."""
        self.record = later.record
        self.at = later.at
        self.columns.update(later.columns)
        self.events.extend(later.events)


def plan(current: Record, changes: Sequence[Change], now: datetime) -> Plan:
    """Apply ``changes`` to ``current`` in memory; raises ``IllegalTransition`` on a bad step."""
    cols: dict[str, Any] = {}
    fields: dict[str, Any] = {}
    events: list[EventSpec] = []
    status = current.status
    channel_data = dict(current.channel_data)
    attempt = current.attempt
    for ch in changes:
        if ch.attempt is not None and ch.attempt != attempt:
            raise IllegalTransition(
                f"{current.id}: an answer about attempt {ch.attempt} cannot change attempt "
                f"{attempt}"
            )
        before = dict(cols)
        data = dict(ch.data)
        from_status = status if ch.to_status is not None else None
        if ch.to_status is not None:
            check_transition(status, ch.to_status, payment_id=current.id)
            status = ch.to_status
            cols["status"] = fields["status"] = status
            if status is not Status.DISPATCHED:
                cols["claimed_by"] = cols["lease_until"] = None
            # the reason explains the current status: a new status brings its own (or none)
            cols["reason"] = fields["reason"] = ch.reason
            cols["reason_detail"] = fields["reason_detail"] = ch.reason_detail
        else:
            if ch.reason is not None:
                cols["reason"] = fields["reason"] = ch.reason
            if ch.reason_detail is not None:
                cols["reason_detail"] = fields["reason_detail"] = ch.reason_detail
        if ch.amount_taken is not None:
            if ch.amount_taken.currency != current.amount.currency:
                raise JournalError(
                    f"{current.id}: amount taken in {ch.amount_taken.currency} but the "
                    f"payment is in {current.amount.currency}"
                )
            cols["taken_minor"] = ch.amount_taken.minor
            fields["amount_taken"] = ch.amount_taken
            data.setdefault("amount_taken_minor", ch.amount_taken.minor)
        if ch.channel_ref is not None:
            cols["channel_ref"] = fields["channel_ref"] = ch.channel_ref
        if ch.attention is not None:
            cols["attention"] = fields["attention"] = ch.attention or None
            if ch.attention:
                data.setdefault("attention", ch.attention)
        if ch.channel_data:
            channel_data = {**channel_data, **ch.channel_data}  # new: ``before`` holds the old
            cols["channel_data"] = channel_data
            fields["channel_data"] = channel_data
        if ch.claim is not None:
            cols["claimed_by"], cols["lease_until"] = ch.claim.owner, ch.claim.until
        if ch.release_claim:
            cols["claimed_by"] = cols["lease_until"] = None
        if ch.new_attempt:
            attempt += 1
            cols["attempt"] = fields["attempt"] = attempt
            data.setdefault("attempt", attempt)
        elif ch.attempt is not None:
            data.setdefault("attempt", ch.attempt)
        if ch.reason is not None:
            data.setdefault("reason", ch.reason.value)
        if ch.reason_detail is not None:
            data.setdefault("reason_detail", ch.reason_detail)
        events.append(EventSpec(ch.event, from_status, ch.to_status, data, _changed(before, cols)))
    if "claimed_by" in cols:
        fields["claimed_by"], fields["lease_until"] = cols["claimed_by"], cols["lease_until"]
    if cols:
        cols["updated_at"] = fields["updated_at"] = now
        events[-1].sets["updated_at"] = now
        fields["version"] = current.version + 1
        record = current.model_copy(update=fields)
    else:
        record = current
    return Plan(record, now, cols, events)


def request_text(request_json: dict[str, Any]) -> str:
    """The ``request_json`` column's text, exactly as the journal stores it."""
    return dumps(storable_json(request_json))


def request_digest(request_json: dict[str, Any]) -> str:
    """SHA-256 of the stored ``request_json`` text: what the ``created`` event records of
    the request, so it is not stored twice and an edit of the row's copy is still seen."""
    return hashlib.sha256(request_text(request_json).encode("utf-8")).hexdigest()


def code_data(request: PaymentRequest) -> dict[str, JsonValue]:
    """What the journal keeps of a scanned payment code: masked, digest, provider — never it."""
    code = request.payment_code
    if code is None:
        return {}
    return {"code": code.masked, "code_digest": code.digest, "code_provider": code.provider}


def plan_new(new: NewRecord, now: datetime, then: Sequence[Change], *, occurrence: int = 1) -> Plan:
    """The CREATED record for ``new``, then ``then`` applied; ``columns`` is the whole row."""
    req = new.request
    cls = Payment if new.kind == "payment" else Refund
    created = trusted(
        cls,
        {
            "id": new.id,
            "kind": new.kind,
            "status": Status.CREATED,
            "channel": new.channel,
            "payer_id": req.payer_id,
            "reference": req.reference,
            "amount": req.amount,
            "idempotency_key": req.idempotency_key,
            "amount_taken": None,
            "channel_ref": None,
            "reason": None,
            "reason_detail": None,
            "attention": None,
            "channel_data": code_data(req),
            "parent_id": new.parent_id,
            "occurrence": occurrence,
            "attempt": 0,
            "claimed_by": None,
            "lease_until": None,
            "created_at": now,
            "updated_at": now,
            "version": 1,
            **{name: getattr(req, name) for name in REQUEST_FIELDS},
        },
    )
    row: dict[str, Any] = {
        "id": new.id,
        "kind": new.kind,
        "parent_id": new.parent_id,
        "idempotency_key": req.idempotency_key,
        "fingerprint": new.fingerprint,
        "channel": new.channel,
        "status": Status.CREATED,
        "payer_id": req.payer_id,
        "reference": req.reference,
        "currency": req.amount.currency.code,
        "amount_minor": req.amount.minor,
        "taken_minor": None,
        "channel_ref": None,
        "reason": None,
        "reason_detail": None,
        "attention": None,
        "request_json": {
            name: value
            for name in REQUEST_FIELDS
            if (value := getattr(req, name)) is not None and value != {} and value is not False
        },
        "channel_data": code_data(req),
        "occurrence": occurrence,
        "attempt": 0,
        "claimed_by": None,
        "lease_until": None,
        "created_at": now,
        "updated_at": now,
        "version": 1,
    }
    # what the event records: the row as created but for ``version`` (it counts writes) and
    # the request, which the row holds: the event keeps its digest (``request_digest``)
    created_row = {k: v for k, v in row.items() if k not in ("version", "request_json")}
    created_row["request_sha256"] = request_digest(row["request_json"])
    first = EventSpec(
        EventType.CREATED, None, Status.CREATED, {"fingerprint": new.fingerprint}, created_row
    )
    after = plan(created, then, now)
    row.update(after.columns)
    if after.columns:
        row["version"] = 2  # as if the CREATED row had been updated once by ``then``
    return Plan(after.record, now, row, [first, *after.events])
