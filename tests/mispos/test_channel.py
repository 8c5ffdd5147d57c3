"""MisposChannel against the simulated terminal over a real pty, for every shipped profile."""

from __future__ import annotations

from pathlib import Path

import pytest

from paychannels import InvalidRequest, Money, OutcomeUnknownError, Status, UnsupportedOperation
from paychannels.drivers.book import Attempt
from paychannels.drivers.mispos.channel import TerminalRefused
from paychannels.drivers.mispos.outcomes import answer_result
from paychannels.drivers.mispos.profile_checks import load
from tests.mispos.conftest import CARD, Hall, open_hall


@pytest.mark.parametrize(
    ("faults", "at_first", "truth"),
    [
        ({"nak"}, Status.SUCCEEDED, Status.SUCCEEDED),
        ({"nak_always"}, Status.NOT_SENT, Status.NOT_SENT),
        ({"lose_request"}, Status.UNKNOWN, Status.NOT_SENT),
        ({"drop_frame"}, Status.SUCCEEDED, Status.SUCCEEDED),
        ({"corrupt_frame"}, Status.SUCCEEDED, Status.SUCCEEDED),
        ({"garble_reply"}, Status.UNKNOWN, Status.SUCCEEDED),
        ({"late_completion"}, Status.UNKNOWN, Status.SUCCEEDED),
        ({"disconnect_after_approval"}, Status.UNKNOWN, Status.SUCCEEDED),
        ({"power_cycle"}, Status.UNKNOWN, Status.NOT_SENT),
        ({"power_cycle_after_booking"}, Status.UNKNOWN, Status.SUCCEEDED),
    ],
)
@pytest.mark.slow
def test_faults_resolve_to_the_truth(
    hall: Hall, faults: set[str], at_first: Status, truth: Status
) -> None:
    hall.script(faults=faults, fault_delay=1.5, off_for=1.0)
    p = hall.pay()
    assert p.status is at_first, p.reason_detail
    assert hall.recover_until(p, lambda s: s is truth) is truth
    hall.check_truth()
    if truth is Status.NOT_SENT:
        again = hall.col.collect(p.request(), channel="mis")
        assert again.status is Status.SUCCEEDED and hall.charges(again) == 1
    hall.check_truth()


@pytest.mark.slow
def test_the_next_payment_settles_a_lost_answer_first(hall: Hall) -> None:
    hall.script(faults={"disconnect_after_approval"})
    lost = hall.pay("100.00")
    assert lost.status is Status.UNKNOWN
    second = hall.pay("200.00")  # no recover() in between
    assert second.status is Status.SUCCEEDED
    assert hall.col.recover().resolved == {"SUCCEEDED": 1}
    assert hall.status(lost) is Status.SUCCEEDED
    hall.check_truth()


def test_a_book_that_changed_under_us_after_the_answer_is_not_not_sent(hall: Hall) -> None:
    """Something wrote the terminal book while the sale was out (a process whose terminal
    lock ran out): the answer cannot be recorded, but the sale ran — UNKNOWN, never
    NOT_SENT (a retry would charge twice), and recovery asks the terminal."""
    ctx = hall.col.channel_context("mis")

    def write_the_book_meanwhile(_verb: str, _record: object) -> None:
        entry = ctx.state_get("mispos.terminal")
        assert entry is not None
        assert ctx.state_put("mispos.terminal", entry.value, expected_version=entry.version)

    stop = hall.channel.watch(write_the_book_meanwhile)
    p = hall.pay()
    stop()
    assert hall.charges(p) == 1
    assert p.status is Status.UNKNOWN, p.reason_detail
    assert hall.recover_until(p, lambda s: s is Status.SUCCEEDED) is Status.SUCCEEDED
    hall.check_truth()


def test_an_earlier_requests_late_answer_is_not_taken_for_this_ones(hall: Hall) -> None:
    """An answer carrying the previous sale's trace and amount cannot be about this sale
    (every booking moves the trace): it is set aside and the sale's own answer read."""
    first = hall.pay("12.34")
    assert first.status is Status.SUCCEEDED
    hall.script(faults={"leftover_answer"})
    p = hall.pay("100.00")
    assert hall.charges(p) == 1
    assert p.status is Status.SUCCEEDED, (p.status, p.reason_detail)
    assert p.amount_taken == p.amount and p.channel_ref != first.channel_ref
    hall.check_truth()


def test_an_answer_that_cannot_be_ours_leaves_the_attempt_in_doubt() -> None:
    """Should nothing but an earlier answer come, the attempt is in doubt, never its result."""
    attempt = Attempt("pay_1", 1, "sale", 10000, before=7, at="2026-12-07T00:00:00Z")
    profile = load("tlv-9f")
    stale = answer_result(profile, attempt, {"trace": "000007", "amount": "000000010000"})
    other = answer_result(profile, attempt, {"trace": "000008", "amount": "000000001234"})
    ours = answer_result(profile, attempt, {"trace": "000008", "amount": "000000010000"})
    assert (stale.verdict, other.verdict, ours.verdict) == ("ambiguous", "ambiguous", "booked")


def test_declines_keep_the_terminal_code(hall: Hall) -> None:
    hall.script(outcome="insufficient_funds")
    p = hall.pay()
    assert p.status is Status.DECLINED
    assert p.reason is not None and p.reason.value == "INSUFFICIENT_FUNDS"
    assert (p.reason_detail or "").startswith("MIS-POS 51")


@pytest.mark.slow
def test_refunds_void_settle_and_reprint(hall: Hall) -> None:
    p = hall.pay("100.00")
    assert p.status is Status.SUCCEEDED
    assert p.channel_data["card"] == "622202*********0123"
    r1 = hall.col.refund(p.id, Money("30.00", "CNY"), idempotency_key="r1")
    assert r1.status is Status.SUCCEEDED
    with pytest.raises(InvalidRequest, match="exceed"):
        hall.col.refund(p.id, Money("80.00", "CNY"), idempotency_key="r2")
    q = hall.pay("50.00")
    assert hall.col.cancel(q.id).status is Status.REVERSED
    assert hall.charges(q) == 0
    ctx = hall.col.channel_context("mis")
    assert "笔数 COUNT" in (hall.channel.settle(ctx).get("print_text") or "")
    assert "PAYCHANNELS SIM TERMINAL" in (hall.channel.reprint(ctx).get("print_text") or "")


@pytest.mark.slow
def test_a_void_whose_answer_was_lost_is_not_sent_twice(hall: Hall) -> None:
    p = hall.pay()
    hall.script(faults={"disconnect_after_approval"})
    with pytest.raises(OutcomeUnknownError, match="cancel again"):
        hall.col.cancel(p.id)
    assert hall.col.cancel(p.id).status is Status.REVERSED
    reversals = [t for t in hall.sim.terminal.journal.txns if t.kind == "reversal"]
    assert len(reversals) == 1


@pytest.mark.slow
def test_a_refused_void(hall: Hall) -> None:
    p = hall.pay()
    hall.sim.terminal.journal.txns[-1].reversed = True  # voided at the terminal's keypad
    with pytest.raises(TerminalRefused, match="MIS-POS 94"):
        hall.col.cancel(p.id)


@pytest.mark.slow
def test_transcript_masks_card_numbers(hall: Hall) -> None:
    hall.pay()
    text = hall.transcript.read_text(encoding="utf-8")
    assert CARD not in text and CARD.encode().hex() not in text
    assert "ACK" in text and "frame of" in text


def test_a_payment_without_terminal_data_cannot_be_voided(hall: Hall) -> None:
    p = hall.pay()
    data = dict(hall.col.status(p.id).channel_data)
    data.pop("trace")
    with pytest.raises(UnsupportedOperation):
        hall.channel.void(
            hall.col.status(p.id).model_copy(update={"channel_data": data}),  # type: ignore[arg-type]
            hall.col.channel_context("mis"),
        )


@pytest.mark.slow
def test_over_tcp(tmp_path: Path) -> None:
    h = open_hall(tmp_path, "tlv-9f", tcp=True)
    try:
        p = h.pay()
        assert p.status is Status.SUCCEEDED and h.charges(p) == 1
        h.script(faults={"disconnect_after_approval"})
        q = h.pay()
        assert q.status is Status.UNKNOWN
        assert h.recover_until(q, lambda s: s is Status.SUCCEEDED) is Status.SUCCEEDED
        h.check_truth()
    finally:
        h.close()


@pytest.mark.slow
def test_a_wrong_baud_rate_sends_nothing(tmp_path: Path) -> None:
    h = open_hall(tmp_path, "tlv-9f", query="&baudrate=19200")
    try:
        p = h.pay()
        assert p.status is Status.NOT_SENT
        assert "could not check the terminal" in (p.reason_detail or "")
        assert h.sim.terminal.journal.txns == []
    finally:
        h.close()
