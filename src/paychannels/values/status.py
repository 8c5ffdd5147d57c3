"""The payment state machine: one transition table, one guard, exhaustive predicates.

The table is DESIGN.md §2 verbatim. States only move forward; a late "not paid" after
"paid" is not a transition but an attention flag (see ``Collector.flag_attention``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import assert_never

from paychannels.values.errors import IllegalTransition

__all__ = [
    "OPEN_STATUSES",
    "TRANSITIONS",
    "Status",
    "check_transition",
    "is_final",
    "is_in_doubt",
    "is_open",
    "money_taken",
    "reportable_by_channel",
]


class Status(StrEnum):
    """Where a payment (or refund) stands; see docs/state-machine.md."""

    CREATED = "CREATED"
    DISPATCHED = "DISPATCHED"
    PENDING = "PENDING"
    NOT_SENT = "NOT_SENT"
    UNKNOWN = "UNKNOWN"
    SUCCEEDED = "SUCCEEDED"
    DECLINED = "DECLINED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"
    REVERSED = "REVERSED"
    NEEDS_ATTENTION = "NEEDS_ATTENTION"


S = Status
TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.CREATED: frozenset({S.DISPATCHED, S.CANCELLED}),
    S.DISPATCHED: frozenset({S.PENDING, S.SUCCEEDED, S.DECLINED, S.NOT_SENT, S.UNKNOWN}),
    S.PENDING: frozenset({S.SUCCEEDED, S.DECLINED, S.EXPIRED, S.UNKNOWN}),
    S.NOT_SENT: frozenset({S.DISPATCHED, S.CANCELLED}),
    S.UNKNOWN: frozenset({S.PENDING, S.SUCCEEDED, S.DECLINED, S.NOT_SENT, S.NEEDS_ATTENTION}),
    S.SUCCEEDED: frozenset({S.REVERSED}),
    S.DECLINED: frozenset(),
    S.EXPIRED: frozenset(),
    S.CANCELLED: frozenset(),
    S.REVERSED: frozenset(),
    S.NEEDS_ATTENTION: frozenset({S.SUCCEEDED, S.DECLINED, S.REVERSED}),
}


def check_transition(current: Status, target: Status, *, payment_id: str = "") -> None:
    """The one guard: raise ``IllegalTransition`` unless ``current -> target`` is in the table."""
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "nothing (final)"
        who = f"payment {payment_id}: " if payment_id else ""
        raise IllegalTransition(
            f"{who}cannot move from {current} to {target}; {current} may move to {allowed}"
        )


def is_final(status: Status) -> bool:
    """No further state change is possible (DECLINED, EXPIRED, CANCELLED, REVERSED)."""
    match status:
        case S.DECLINED | S.EXPIRED | S.CANCELLED | S.REVERSED:
            return True
        case (
            S.CREATED
            | S.DISPATCHED
            | S.PENDING
            | S.NOT_SENT
            | S.UNKNOWN
            | S.SUCCEEDED
            | S.NEEDS_ATTENTION
        ):
            return False
        case _:
            assert_never(status)


def is_in_doubt(status: Status) -> bool:
    """The outcome is not yet known and the channel must be asked (recover() walks these)."""
    match status:
        case S.DISPATCHED | S.PENDING | S.UNKNOWN:
            return True
        case (
            S.CREATED
            | S.NOT_SENT
            | S.SUCCEEDED
            | S.DECLINED
            | S.EXPIRED
            | S.CANCELLED
            | S.REVERSED
            | S.NEEDS_ATTENTION
        ):
            return False
        case _:
            assert_never(status)


def is_open(status: Status) -> bool:
    """An attempt that still blocks a second attempt for the same obligation."""
    match status:
        case S.CREATED | S.DISPATCHED | S.PENDING | S.NOT_SENT | S.UNKNOWN | S.NEEDS_ATTENTION:
            return True
        case S.SUCCEEDED | S.DECLINED | S.EXPIRED | S.CANCELLED | S.REVERSED:
            return False
        case _:
            assert_never(status)


def money_taken(status: Status) -> bool:
    """The payer's money is with us (only SUCCEEDED; REVERSED gave it back)."""
    match status:
        case S.SUCCEEDED:
            return True
        case (
            S.CREATED
            | S.DISPATCHED
            | S.PENDING
            | S.NOT_SENT
            | S.UNKNOWN
            | S.DECLINED
            | S.EXPIRED
            | S.CANCELLED
            | S.REVERSED
            | S.NEEDS_ATTENTION
        ):
            return False
        case _:
            assert_never(status)


def reportable_by_channel(status: Status) -> bool:
    """Statuses a channel adapter may report in an ``Outcome`` (the Collector owns the rest)."""
    match status:
        case (
            S.PENDING
            | S.SUCCEEDED
            | S.DECLINED
            | S.NOT_SENT
            | S.UNKNOWN
            | S.EXPIRED
            | S.CANCELLED
            | S.REVERSED
        ):
            return True
        case S.CREATED | S.DISPATCHED | S.NEEDS_ATTENTION:
            return False
        case _:
            assert_never(status)


OPEN_STATUSES: frozenset[Status] = frozenset(s for s in Status if is_open(s))
