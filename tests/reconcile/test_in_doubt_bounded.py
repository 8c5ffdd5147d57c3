"""The payments in doubt, in the database path: counted in SQL, only the few a check names
read into the process — a bank batch of millions still awaiting its results must not
become a list of millions of ids (it did: every in-doubt id was fetched and kept)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from paychannels import Status
from paychannels.channels.settlement import Settlement, SettlementKind
from paychannels.reconcile import reconcile
from paychannels.reconcile.indb import gather_totals
from paychannels.reconcile.taken import DOUBT_LISTED
from tests.reconcile.day import T0, Day

PENDING = DOUBT_LISTED + 7  # more in doubt than a check names


@pytest.fixture
def day(tmp_path: Path, journal_url: str) -> Iterator[Day]:
    d = Day.open(tmp_path, journal_url)
    yield d
    d.journal.close()


def _pending_batch(day: Day) -> list[str]:
    """One debit paid, then a batch still awaiting the bank's results, and one on a terminal."""
    day.owe(1, "300.00"), day.pay(1, "300.00", channel="bank")
    ids = []
    for n in range(2, 2 + PENDING):
        day.owe(n, "300.00")
        ids.append(day.pay(n, "300.00", channel="bank", status=Status.PENDING))
    day.owe(900, "300.00"), day.pay(900, "300.00", channel="hall-1", status=Status.UNKNOWN)
    return ids


def test_only_the_listed_in_doubt_ids_are_read_the_rest_counted(day: Day) -> None:
    ids = _pending_batch(day)
    taken = gather_totals(
        day.journal, terminals=frozenset(), providers=frozenset(), batched=frozenset()
    )
    assert len(taken.doubt["bank"]) == DOUBT_LISTED  # was PENDING: every id in the process
    assert taken.doubt["bank"] == ids[:DOUBT_LISTED]  # the first, in journaled order
    assert taken.in_doubt_on("bank") == PENDING and taken.in_doubt_on("hall-1") == 1
    assert taken.in_doubt_on("wx") == 0


def test_the_bank_check_still_counts_every_debit_without_a_result(day: Day) -> None:
    _pending_batch(day)
    # the bank took two debits, the journal knows of one: the check lists what is open
    result = {"payments": 2, "gross_minor": 60000, "refunds": 0, "refund_minor": 0}
    pending = {"failed": 0, "pending": PENDING}
    at = T0 + timedelta(days=2)
    file = Settlement(SettlementKind.BANK, "sha-1", "R1.xml", "CNY", at, 60000, **result)
    day.settle("bank", replace(file, detail=pending))
    for in_database in (True, False):
        with reconcile(day.journal, day.roster, in_database=in_database) as rec:
            [stmt] = rec.checks[0].statements
            assert f"{PENDING} debit(s) still without a result" in stmt.differences
