"""The state machine: the table is DESIGN.md §2, the guard enforces it, predicates are total."""

from __future__ import annotations

import pytest

from paychannels import TRANSITIONS, IllegalTransition, Status
from paychannels.journal.schema import _LIVE, _OPEN
from paychannels.values.status import (
    OPEN_STATUSES,
    check_transition,
    is_final,
    is_in_doubt,
    is_open,
    money_taken,
    reportable_by_channel,
)

S = Status
DESIGN_TABLE = {
    S.CREATED: {S.DISPATCHED, S.CANCELLED},
    S.DISPATCHED: {S.PENDING, S.SUCCEEDED, S.DECLINED, S.NOT_SENT, S.UNKNOWN},
    S.PENDING: {S.SUCCEEDED, S.DECLINED, S.EXPIRED, S.UNKNOWN},
    S.NOT_SENT: {S.DISPATCHED, S.CANCELLED},
    S.UNKNOWN: {S.PENDING, S.SUCCEEDED, S.DECLINED, S.NOT_SENT, S.NEEDS_ATTENTION},
    S.SUCCEEDED: {S.REVERSED},
    S.DECLINED: set(),
    S.EXPIRED: set(),
    S.CANCELLED: set(),
    S.REVERSED: set(),
    S.NEEDS_ATTENTION: {S.SUCCEEDED, S.DECLINED, S.REVERSED},
}


def test_table_is_the_design_table() -> None:
    assert {k: set(v) for k, v in TRANSITIONS.items()} == DESIGN_TABLE
    assert set(TRANSITIONS) == set(Status)


@pytest.mark.parametrize("current", list(Status))
@pytest.mark.parametrize("target", list(Status))
def test_guard_agrees_with_table(current: Status, target: Status) -> None:
    if target in DESIGN_TABLE[current]:
        check_transition(current, target)
    else:
        with pytest.raises(IllegalTransition, match=f"cannot move from {current}"):
            check_transition(current, target)


@pytest.mark.parametrize("status", list(Status))
def test_predicates_are_total_and_consistent(status: Status) -> None:
    # each predicate answers for every status (assert_never makes a new status a type error)
    answers = (is_final(status), is_in_doubt(status), is_open(status), money_taken(status))
    assert all(isinstance(a, bool) for a in answers)
    assert is_final(status) == (not TRANSITIONS[status])
    assert not (is_final(status) and is_open(status))
    if is_in_doubt(status):
        assert is_open(status)
    reportable_by_channel(status)


def test_terminal_statuses_have_no_exit() -> None:
    for status in (S.DECLINED, S.EXPIRED, S.CANCELLED, S.REVERSED):
        assert is_final(status)


def test_schema_open_obligation_index_matches_open_statuses() -> None:
    listed = {part.strip("'() ") for part in _OPEN.split(",")}
    assert listed == {s.value for s in OPEN_STATUSES}


def test_schema_live_obligation_index_is_open_or_paid() -> None:
    listed = {part.strip("'() ") for part in _LIVE.split(",")}
    assert listed == {s.value for s in OPEN_STATUSES} | {S.SUCCEEDED.value}
