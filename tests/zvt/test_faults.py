"""Every scripted outcome and fault, on TCP and a pty: the state it leaves, recovery to the truth.

Each test ends with another payment (the link recovered, the next payment unaffected) and
``check_truth``: every journaled payment SUCCEEDED exactly when the terminal charged it once.
"""

from __future__ import annotations

import pytest

from paychannels import EventType, Reason, Status
from tests.zvt.conftest import Hall

S = Status


def next_payment_is_fine(hall: Hall) -> None:
    again = hall.pay("12.34")
    assert again.status is S.SUCCEEDED, again.reason_detail
    assert again.amount_taken is not None and again.amount_taken.minor == 1234
    hall.check_truth()


@pytest.mark.parametrize(
    ("fields", "reason", "booked"),
    [
        ({"outcome": "decline", "result_code": 0x05}, Reason.CARD_DECLINED, True),
        ({"outcome": "insufficient_funds"}, Reason.INSUFFICIENT_FUNDS, True),
        ({"outcome": "pin_timeout", "pin_delay": 0.1}, Reason.PIN_TIMEOUT, True),
        ({"outcome": "cardholder_abort"}, Reason.CARDHOLDER_ABORT, False),
        ({"outcome": "decline", "result_code": 0x78}, Reason.CARD_EXPIRED, True),
    ],
)
@pytest.mark.slow
def test_declines_carry_our_reason_and_the_terminal_code(
    hall: Hall, fields: dict[str, object], reason: Reason, booked: bool
) -> None:
    hall.script(**fields)
    p = hall.pay()
    assert p.status is S.DECLINED and p.reason is reason
    assert p.reason_detail and p.reason_detail.startswith("ZVT ")
    assert hall.charges(p) == 0
    assert ("receipt_no" in p.channel_data) is booked
    next_payment_is_fine(hall)


def test_approved_payment_has_progress_receipt_and_terminal_data(hall: Hall) -> None:
    p = hall.pay("380.00")
    assert p.status is S.SUCCEEDED and p.channel_ref
    texts = [
        e.data["text"] for e in hall.col.events(payment_id=p.id) if e.type is EventType.PROGRESS
    ]
    assert texts == ["insert card", "watch the PIN pad", "waiting for the host"]
    data = p.channel_data
    assert data["card"] == "622202*********0123" and data["terminal_id"] == 29001234
    assert "AMOUNT CNY 380.00" in data["receipt"]  # type: ignore[operator]
    hall.check_truth()


@pytest.mark.slow
def test_slow_cardholder_keeps_the_dialogue_alive(hall: Hall) -> None:
    # each wait is shorter than T4 (1.5 s) but together they exceed it: statuses restart T4
    hall.script(card_delay=0.9, pin_delay=0.9, host_delay=0.3)
    p = hall.pay()
    assert p.status is S.SUCCEEDED
    assert hall.charges(p) == 1


@pytest.mark.slow
def test_lost_request_recovers_as_not_sent_and_retries_once(hall: Hall) -> None:
    hall.script(faults={"lose_request"})
    p = hall.pay(key="lost-request")
    assert p.status is S.UNKNOWN
    assert hall.recover_until(p, lambda s: s is S.NOT_SENT) is S.NOT_SENT
    assert hall.retry(p).status is S.SUCCEEDED
    next_payment_is_fine(hall)


def test_refusal_is_not_sent(hall: Hall) -> None:
    hall.script(faults={"refuse"})
    p = hall.pay(key="refused")
    assert p.status is S.NOT_SENT and "84 83" in (p.reason_detail or "")
    next_payment_is_fine(hall)


@pytest.mark.slow
def test_late_acknowledgement_is_unknown_then_not_sent(hall: Hall) -> None:
    hall.script(faults={"late_ack"}, fault_delay=1.0)
    p = hall.pay()
    assert p.status is S.UNKNOWN and "T3" in (p.reason_detail or "")
    assert hall.recover_until(p, lambda s: s is S.NOT_SENT) is S.NOT_SENT
    next_payment_is_fine(hall)


def test_a_leftover_answer_before_the_acknowledgement_is_not_taken_for_ours(hall: Hall) -> None:
    # the terminal acknowledges every command with 80 00 before anything else: a message ahead
    # of it is the tail of an earlier dialogue, never this booking's answer
    hall.script(faults={"leftover_completion"})
    p = hall.pay()
    assert p.status is S.SUCCEEDED, (p.status, p.reason_detail)
    assert hall.charges(p) == 1
    next_payment_is_fine(hall)


@pytest.mark.parametrize(
    "fault",
    ["disconnect_after_approval", "garble_reply", "late_completion", "power_cycle_after_booking"],
)
@pytest.mark.slow
def test_answer_lost_after_booking_is_unknown_then_succeeded(hall: Hall, fault: str) -> None:
    hall.script(faults={fault}, fault_delay=2.0, off_for=0.5)
    p = hall.pay()
    assert p.status is S.UNKNOWN, p.status
    assert hall.charges(p) == 1
    assert hall.recover_until(p, lambda s: s is S.SUCCEEDED) is S.SUCCEEDED
    recovered = hall.col.status(p.id)
    assert recovered.channel_data["receipt_no"] and recovered.amount_taken == p.amount
    next_payment_is_fine(hall)


@pytest.mark.slow
def test_power_cycle_before_booking_is_unknown_then_not_sent(hall: Hall) -> None:
    hall.script(faults={"power_cycle"}, off_for=0.8)
    p = hall.pay(key="power")
    assert p.status in (S.UNKNOWN, S.NOT_SENT)
    assert hall.recover_until(p, lambda s: s is S.NOT_SENT) is S.NOT_SENT
    assert hall.retry(p).status is S.SUCCEEDED  # re-registers by itself
    next_payment_is_fine(hall)


@pytest.mark.slow
def test_unknown_apdu_is_answered_and_the_payment_goes_on(hall: Hall) -> None:
    hall.script(faults={"unknown_apdu"})
    p = hall.pay()
    assert p.status is S.SUCCEEDED
    assert "negative acknowledgement 83" in hall.transcript.read_text()
    next_payment_is_fine(hall)


@pytest.mark.slow
def test_lost_status_information(hall: Hall) -> None:
    # serial: resent by the terminal after its T2; TCP: never arrives, fetched again at once
    hall.script(faults={"drop_frame"})
    p = hall.pay()
    assert p.status is S.SUCCEEDED and p.channel_data["receipt_no"]
    next_payment_is_fine(hall)


@pytest.mark.slow
def test_corrupted_status_information(hall: Hall) -> None:
    hall.script(faults={"corrupt_frame"})
    p = hall.pay()
    if hall.transport == "serial":  # wrong CRC: NAKed and sent again
        assert p.status is S.SUCCEEDED
        assert "NAK" in hall.transcript.read_text()
    else:  # garbled bytes on TCP: the outcome must be asked for
        assert p.status is S.UNKNOWN
        assert hall.recover_until(p, lambda s: s is S.SUCCEEDED) is S.SUCCEEDED
    next_payment_is_fine(hall)


@pytest.mark.slow
def test_terminal_that_never_answers(hall: Hall) -> None:
    assert hall.pay().status is S.SUCCEEDED
    hall.sim.terminal.line_mode = "mute"
    p = hall.pay()
    assert p.status is S.UNKNOWN
    report = hall.col.recover()
    assert report.still_in_doubt == [p.id]  # it cannot be asked yet: still UNKNOWN, never FAILED
    hall.sim.terminal.line_mode = "normal"
    assert hall.recover_until(p, lambda s: s is S.NOT_SENT) is S.NOT_SENT
    next_payment_is_fine(hall)


@pytest.mark.slow
def test_in_doubt_payment_is_resolved_before_the_next_one(hall: Hall) -> None:
    hall.script(faults={"disconnect_after_approval"})
    lost = hall.pay()
    assert lost.status is S.UNKNOWN
    nxt = hall.pay("5.00")  # asks the terminal about the lost one first, then pays
    assert nxt.status is S.SUCCEEDED
    assert hall.col.recover().resolved == {"SUCCEEDED": 1}
    assert hall.status(lost) is S.SUCCEEDED
    hall.check_truth()


@pytest.mark.parametrize("transport", ["serial"])
def test_nak_once_is_resent_and_nak_always_is_not_sent(hall: Hall, transport: str) -> None:
    if hall.transport != transport:
        pytest.skip("NAK exists on serial lines only")
    hall.script(faults={"nak"})
    assert hall.pay().status is S.SUCCEEDED
    hall.script(faults={"nak_always"})
    p = hall.pay()
    assert p.status is S.NOT_SENT and "NAK 3 times" in (p.reason_detail or "")
    next_payment_is_fine(hall)
