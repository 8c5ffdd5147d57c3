"""A MIS-POS day into reconciliation: the settlement answer is recorded as the terminal's
figures for its batch, and ``reconcile`` finds the batch's payments by the batch number in
their ``channel_ref`` (terminal/batch/trace) and compares the money."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from paychannels import Money, Status
from paychannels.channels.settlement import SettlementKind, record_settlement, recorded_settlements
from paychannels.drivers.book import Result
from paychannels.drivers.mispos.codec import Fields
from paychannels.drivers.mispos.errors import MisposFormatError
from paychannels.drivers.mispos.outcomes import to_outcome
from paychannels.drivers.mispos.profile_checks import load
from paychannels.drivers.mispos.settlement import batch_settlement
from paychannels.reconcile import reconcile
from paychannels.reconcile.taken import batch_of
from tests.mispos.conftest import Hall

HEAD = "证件号码,姓名,苏木乡镇,嘎查村,险种,缴费档次,应缴金额,缴费期间,缴费方式\n"


def _roster(tmp_path: Path) -> Path:
    path = tmp_path / "roster.csv"  # nobody owed: only the channel's check is looked at
    path.write_text(HEAD, "utf-8")
    return path


@pytest.mark.slow
def test_a_mispos_day_is_recorded_and_reconciles(hall: Hall, tmp_path: Path) -> None:
    p1 = hall.pay("100.00")
    p2 = hall.pay("50.00")
    assert (p1.status, p2.status) == (Status.SUCCEEDED, Status.SUCCEEDED)
    refund = hall.col.refund(p1.id, Money("30.00", "CNY"), idempotency_key="r1")
    assert refund.status is Status.SUCCEEDED
    assert hall.col.cancel(p2.id).status is Status.REVERSED
    p3 = hall.pay("20.00")
    assert p3.status is Status.SUCCEEDED
    assert p3.channel_ref is not None and p3.channel_ref.split("/")[1] == "000001"

    fields = hall.channel.settle(hall.col.channel_context("mis"))
    assert fields.get("batch") == "000001"  # the batch it closed, not the one it opened
    [figures] = recorded_settlements(hall.col.journal)["mis"]
    assert (figures.kind, figures.key, figures.batch) == (
        SettlementKind.TERMINAL,
        "000001",
        "000001",
    )
    assert (figures.net_minor, figures.currency) == (9000, "CNY")  # 100 - 30 + 20, in fen

    rec = reconcile(hall.col.journal, _roster(tmp_path))
    [check] = [c for c in rec.checks if c.channel == "mis"]
    assert (check.kind, check.status) == ("terminal", "match"), check
    [stmt] = check.statements
    assert (stmt.stated_net_minor, stmt.journal_net_minor) == (9000, 9000)
    assert rec.lost_minor == 0 and rec.unconfirmed_minor == 0

    # the next batch: a payment after the settlement is not the closed batch's
    p4 = hall.pay("7.00")
    assert p4.channel_ref is not None and p4.channel_ref.split("/")[1] == "000002"
    rec = reconcile(hall.col.journal, _roster(tmp_path))
    [check] = [c for c in rec.checks if c.channel == "mis"]
    assert check.status == "match" and any("after the last end of day" in n for n in check.notes)
    hall.channel.settle(hall.col.channel_context("mis"))
    rec = reconcile(hall.col.journal, _roster(tmp_path))
    [check] = [c for c in rec.checks if c.channel == "mis"]
    nets = [(s.stated_net_minor, s.journal_net_minor) for s in check.statements]
    assert check.status == "match" and nets == [(9000, 9000), (700, 700)]

    # a total that does not agree (the terminal holds 10.00 less than the journal credits)
    record_settlement(hall.col.channel_context("mis"), replace(figures, net_minor=8000))
    rec = reconcile(hall.col.journal, _roster(tmp_path))
    [check] = [c for c in rec.checks if c.channel == "mis"]
    first = check.statements[0]
    assert check.status == "mismatch" and first.unconfirmed_minor == 1000
    assert any("the statement says" in d for d in first.differences)
    assert not rec.balanced


def test_a_ref_without_a_terminal_id_keeps_the_batch_in_its_place() -> None:
    """``terminal/batch/trace`` keeps three places, so the batch is never read as the trace."""
    profile = load("fs-delimited")
    answer = Result("booked", trace=45, amount=700, data={"rc": "00", "batch": "000004"})
    outcome = to_outcome(profile, answer, currency="CNY")
    assert outcome.channel_ref == "/000004/000045"
    assert batch_of(outcome.channel_ref) == 4


def test_a_settlement_answer_without_a_total_is_named(hall: Hall) -> None:
    fields = Fields({"rc": "00", "batch": "000001"})
    with pytest.raises(MisposFormatError, match="field amount"):
        batch_settlement(fields, hall.col.channel_context("mis"), "CNY")
