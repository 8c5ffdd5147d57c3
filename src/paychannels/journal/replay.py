"""Replaying a record's events against its stored row: what ``journal verify`` checks.

Since schema version 2 every event records the columns it set (``columns_set``; the
``created`` event the whole row — its request as the SHA-256 of the row's ``request_json``
text since issue 16, as the row already holds the request), so folding them in ``seq``
order rebuilds the row, column by column: an amount, payer or status edited behind the
journal's back, an event appended by hand, a row deleted or written outside the journal —
each is named by record and column.
This is replay rather than a digest chain because a digest says *that* a row differs, not
*which* column, and a chain without a secret key can be recomputed by whoever edits the
table anyway. What replay cannot catch is a forger who rewrites a row *and* appends legal,
consistent events for it: that needs a signature keyed outside the database. Values of
columns that identify a person (payer, names, keys, references) are never shown.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from paychannels.journal.plan import TIMESTAMP_COLUMNS
from paychannels.values.status import TRANSITIONS, Status

__all__ = ["StoredEvent", "replay"]

#: what the ``created`` event records of the request (since issue 16): the SHA-256 of the
#: row's ``request_json`` text, not the request again
REQUEST_DIGEST = "request_sha256"
_DIFFERS = "the row differs from what the events recorded (not shown)"
_JSON_COLUMNS = frozenset({"request_json", "channel_data"})
_INT_COLUMNS = frozenset({"amount_minor", "taken_minor", "attempt", "occurrence"})
#: columns whose values may appear in a report (money, states, counters, times)
_SHOWN = frozenset(
    {"kind", "status", "channel", "currency", "amount_minor", "taken_minor", "reason"}
    | _INT_COLUMNS
    | TIMESTAMP_COLUMNS
    | {"parent_id"}
)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as stored: ``columns`` is None when it records none (before version 2)."""

    seq: int
    type: str
    from_status: str | None
    to_status: str | None
    columns: dict[str, Any] | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> StoredEvent:
        """From a ``pc_events`` row."""
        text = row["columns_set"]
        return cls(
            int(row["seq"]),
            row["type"],
            row["from_status"],
            row["to_status"],
            None if text is None else json.loads(text),
        )


def replay(
    row: Mapping[str, Any] | None,
    events: Sequence[StoredEvent],
    *,
    ts: Callable[[Any], datetime],
) -> list[str]:
    """Every disagreement between a record's events (in ``seq`` order) and its row.

    ``row`` None means the events name a record whose row is gone; ``ts`` turns a stored
    timestamp into an aware datetime.
    """
    if row is None:
        return [f"row is missing: {len(events)} event(s) name it (deleted behind the journal?)"]
    if not events:
        return ["no events: the row was written outside the journal"]
    problems: list[str] = []
    status: str | None = None
    folded: dict[str, Any] = {}
    recorded = events[0].columns is not None  # written since version 2: replay every column
    if events[0].type != "created":
        problems.append(f"event {events[0].seq}: the first event is {events[0].type!r}")
    for ev in events:
        if ev.to_status is not None:
            if ev.from_status != status:
                problems.append(f"event {ev.seq}: from {ev.from_status} but the state was {status}")
            elif status is not None and Status(ev.to_status) not in TRANSITIONS[Status(status)]:
                problems.append(
                    f"event {ev.seq}: {status} -> {ev.to_status} is not a transition the "
                    "state machine allows"
                )
            status = ev.to_status
        if ev.columns is None:
            if recorded:
                problems.append(
                    f"event {ev.seq} ({ev.from_status or '-'} -> {ev.to_status or ev.type}) "
                    "records no columns: not written by the journal"
                )
            continue
        if ev.to_status is not None and ev.columns.get("status", ev.to_status) != ev.to_status:
            problems.append(f"event {ev.seq}: moves to {ev.to_status} but records another status")
        folded.update(ev.columns)
    if row["status"] != status:
        problems.append(f"status: the events end in {status}, the row says {row['status']}")
    if recorded:
        problems.extend(_compare(row, folded, ts))
    return problems


def _compare(
    row: Mapping[str, Any], folded: dict[str, Any], ts: Callable[[Any], datetime]
) -> list[str]:
    out: list[str] = []
    for column, value in folded.items():
        if column == "status":
            continue  # reported above, from the events' own moves
        if column == REQUEST_DIGEST:  # the created event holds the request's digest
            stored = row["request_json"]
            if hashlib.sha256(str(stored).encode("utf-8")).hexdigest() != value:
                out.append(
                    "request_json: the row differs from what the events recorded (not shown)"
                )
            continue
        if column not in row.keys():  # noqa: SIM118 - sqlite3.Row iterates values
            out.append(f"{column}: the column is gone from the table")
            continue
        expected = _normal(column, value, None)
        actual = _normal(column, row[column], ts)
        if expected == actual:
            continue
        if column in _SHOWN:
            out.append(f"{column}: the events say {expected}, the row says {actual}")
        else:
            out.append(f"{column}: {_DIFFERS}")
    return out


def _normal(column: str, value: Any, ts: Callable[[Any], datetime] | None) -> Any:
    """A column value in one comparable form, from the row (``ts`` given) or an event."""
    if value is None:
        return None
    if column in TIMESTAMP_COLUMNS:
        return ts(value) if ts is not None else datetime.fromisoformat(value)
    if column in _JSON_COLUMNS:
        return json.loads(value) if isinstance(value, str) else value
    if column in _INT_COLUMNS:
        return int(value)
    return value
