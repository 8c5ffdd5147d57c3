"""A person's decision on a settled payment that carries an attention flag.

docs/operations.md sends the IT person to ``settle_manually`` for every kind of attention.
A flag on a settled payment (a late "not paid" after SUCCEEDED, an amount that disagrees)
keeps the state; the person who checked the channel confirms it, with name and note, and
the flag is cleared — or corrects the amount taken. Nothing else may move.
"""

from __future__ import annotations

import pytest

from paychannels import Collector, Money, PaymentRequest, Status
from paychannels.channels.memory import MemoryChannel
from paychannels.values.errors import IllegalTransition, InvalidRequest
from paychannels.values.models import Outcome
from paychannels.values.reasons import Reason


def pension(n: int) -> PaymentRequest:
    """Payer n's 380.00 CNY pension contribution for 2026."""
    return PaymentRequest(
        payer_id=f"15042219900101000{n}",
        amount=Money.of_minor(38000, "CNY"),
        reference="2026-养老",
        idempotency_key=f"ops-flag-{n}",
    )


def flagged(col: Collector) -> str:
    """A SUCCEEDED payment that a late "declined" callback flagged."""
    col.add_channel("hall-1", MemoryChannel())
    paid = col.collect(
        pension(1),
        "hall-1",
    )
    late = Outcome.declined(Reason.CARD_DECLINED, "05")
    record = col.apply_outcome(paid.id, late, via="callback")
    assert record.status is Status.SUCCEEDED and record.attention
    return paid.id


def test_confirming_a_flagged_payment_clears_the_flag(journal_url: str) -> None:
    with Collector.open(journal_url, create=True) as col:
        pid = flagged(col)
        done = col.settle_manually(
            pid, Status.SUCCEEDED, operator="王芳", note="provider bill shows it paid"
        )
        assert done.status is Status.SUCCEEDED and done.attention is None
        last = col.journal.events(record_id=pid)[-1]
        assert last.data["operator"] == "王芳" and last.data["via"] == "manual"
        assert col.journal.verify(pid) == []
        # a flag-free settled payment has nothing to decide: still refused
        with pytest.raises(IllegalTransition):
            col.settle_manually(pid, Status.SUCCEEDED, operator="王芳", note="again")
        with pytest.raises(IllegalTransition):
            col.settle_manually(pid, Status.DECLINED, operator="王芳", note="no edge")


def test_correcting_the_amount_taken_of_a_flagged_payment(journal_url: str) -> None:
    with Collector.open(journal_url, create=True) as col:
        pid = flagged(col)
        done = col.settle_manually(
            pid,
            Status.SUCCEEDED,
            operator="王芳",
            note="bank statement: 300.00 taken",
            amount_taken=Money.of_minor(30000, "CNY"),
        )
        assert done.amount_taken == Money.of_minor(30000, "CNY") and done.attention is None
        assert col.journal.verify(pid) == []
        with pytest.raises(InvalidRequest):
            col.settle_manually(pid, Status.REVERSED, operator=" ", note="who?")


def test_journal_settle_from_the_command_line(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The IT person's way: a payment left NEEDS_ATTENTION by recovery, decided by name."""
    from datetime import timedelta

    from paychannels.cli.main import main

    with Collector.open(sqlite_url, create=True, attention_after=timedelta(0)) as col:
        device = MemoryChannel()
        device.script("lose_reply")
        device.inquiry_down = True
        col.add_channel("hall-1", device)
        lost = col.collect(
            pension(2),
            "hall-1",
        )
        col.recover()
        assert col.journal.get(lost.id).status is Status.NEEDS_ATTENTION
    argv = ["journal", "settle", lost.id, "SUCCEEDED", "--db", sqlite_url]
    argv += ["--operator", "王芳", "--note", "terminal journal: receipt 000412"]
    assert main([*argv, "--amount-taken", "380.00"]) == 0
    assert "NEEDS_ATTENTION -> SUCCEEDED, taken ¥380.00" in capsys.readouterr().out
    with Collector.open(sqlite_url) as col:
        record = col.journal.get(lost.id)
        assert record.status is Status.SUCCEEDED and record.attention is None
        assert col.journal.events(record_id=lost.id)[-1].data["note"] == argv[-1]
    assert main([*argv[:3], "DECLINED", *argv[4:]]) == 2  # SUCCEEDED has no such step
    assert "cannot settle SUCCEEDED as DECLINED" in capsys.readouterr().err
