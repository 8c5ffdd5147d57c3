"""The nexo codec against fixtures written as the Terminal API documentation shows messages."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from paychannels import Money, Reason, Status
from paychannels.drivers.nexo import wire
from paychannels.drivers.nexo.additional import additional, receipt_lines, text_line
from paychannels.drivers.nexo.envelope import (
    SaleToPOIRequest,
    SaleToPOIResponse,
    decode_reply,
    decode_request,
    encode,
)
from paychannels.drivers.nexo.errors import NexoFormatError
from paychannels.drivers.nexo.inquiry import read_reply, read_status
from paychannels.drivers.nexo.outcomes import payment_outcome, reversal_outcome
from paychannels.drivers.nexo.serviceids import Marker

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "nexo"
REQUESTS = ["payment_request", "reversal_request", "abort_request", "status_request"]
REQUESTS += ["diagnosis_request"]
REPLIES = ["payment_success", "payment_refusal", "payment_busy", "payment_partial"]
REPLIES += ["reversal_success", "status_success", "status_in_progress", "status_not_found"]
REPLIES += ["diagnosis_ok", "event_reject", "async_result_request_wrapper"]


def raw(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def marker(service_id: str = "0420174835", kind: str = "payment") -> Marker:
    from datetime import UTC, datetime

    category = "Payment" if kind == "payment" else "Reversal"
    at = datetime(2026, 1, 5, 9, tzinfo=UTC)
    return Marker(service_id, "pay_01JD3M8Q2W5X7Y9Z0ABCDEFGHJ", 1, kind, category, "sync", at)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", REQUESTS)
def test_requests_round_trip_exactly(name: str) -> None:
    message = decode_request(raw(name))
    again = encode(message)
    assert wire.decode(again) == wire.decode(raw(name)), "every member and digit kept"
    assert decode_request(again) == message


@pytest.mark.parametrize("name", REPLIES)
def test_replies_round_trip_exactly(name: str) -> None:
    message = decode_reply(raw(name))
    again = encode(message)
    original = wire.decode(raw(name))
    if name == "async_result_request_wrapper":  # read as the response it carries
        original = {"SaleToPOIResponse": original["SaleToPOIRequest"]}
    assert wire.decode(again) == original
    assert decode_reply(again) == message


def test_amounts_stay_exact_decimals() -> None:
    message = decode_request(raw("payment_request"))
    assert message.PaymentRequest is not None
    amount = message.PaymentRequest.PaymentTransaction.AmountsReq.RequestedAmount
    assert amount == Decimal("380.00") and str(amount) == "380.00"
    assert b'"RequestedAmount":380.00' in encode(message)
    with pytest.raises(TypeError, match="floats"):
        wire.encode({"RequestedAmount": 380.0})


def test_payment_success_outcome() -> None:
    reply = decode_reply(raw("payment_success"))
    assert isinstance(reply, SaleToPOIResponse) and reply.PaymentResponse is not None
    outcome = payment_outcome(reply.PaymentResponse, currency="CNY", service_id="0420174835")
    assert outcome.status is Status.SUCCEEDED
    assert outcome.amount_taken == Money("380.00", "CNY")
    assert outcome.channel_ref == "BV0q001578219871000.8815765449412345"
    assert outcome.data["poi_transaction"] == {
        "id": "BV0q001578219871000.8815765449412345",
        "timestamp": "2026-01-05T09:00:31.000Z",
    }
    assert outcome.data["card"] == "622202 **** 0123"
    assert outcome.data["approval_code"] == "123456"
    assert outcome.data["psp_reference"] == "8815765449412345"
    assert outcome.receipt[0] == "CARDHOLDER COPY"
    assert "Card: *********0123" in outcome.receipt
    assert outcome.receipt[-1] == "城乡居民养老保险 谢谢"


def test_refusal_reason_from_additional_response() -> None:
    reply = decode_reply(raw("payment_refusal"))
    assert isinstance(reply, SaleToPOIResponse) and reply.PaymentResponse is not None
    outcome = payment_outcome(reply.PaymentResponse, currency="CNY", service_id="0420174836")
    assert outcome.status is Status.DECLINED
    assert outcome.reason is Reason.INSUFFICIENT_FUNDS
    assert outcome.reason_detail == "nexo Refusal: Not enough balance"


def test_busy_means_nothing_ran() -> None:
    reply = decode_reply(raw("payment_busy"))
    assert isinstance(reply, SaleToPOIResponse) and reply.PaymentResponse is not None
    outcome = payment_outcome(reply.PaymentResponse, currency="CNY", service_id="0420174837")
    assert outcome.status is Status.NOT_SENT


def test_partial_approval_takes_less() -> None:
    reply = decode_reply(raw("payment_partial"))
    assert isinstance(reply, SaleToPOIResponse) and reply.PaymentResponse is not None
    outcome = payment_outcome(reply.PaymentResponse, currency="CNY", service_id="0420174838")
    assert outcome.status is Status.SUCCEEDED
    assert outcome.amount_taken == Money("120.50", "CNY")


def test_reversal_success_for_void_and_refund() -> None:
    reply = decode_reply(raw("reversal_success"))
    assert isinstance(reply, SaleToPOIResponse) and reply.ReversalResponse is not None
    body = reply.ReversalResponse
    void = reversal_outcome(body, service_id="7731001122", success=Status.REVERSED)
    refund = reversal_outcome(body, service_id="7731001122", success=Status.SUCCEEDED)
    assert void.status is Status.REVERSED and refund.status is Status.SUCCEEDED


def test_reply_must_answer_our_request() -> None:
    request = decode_request(raw("payment_request")).MessageHeader
    reply = decode_reply(raw("payment_success"))
    assert read_reply(reply, request, marker(), currency="CNY").status is Status.SUCCEEDED
    other = decode_reply(raw("payment_busy"))  # ServiceID 0420174837, not ours
    assert read_reply(other, request, marker(), currency="CNY").status is Status.UNKNOWN
    event = decode_reply(raw("event_reject"))
    outcome = read_reply(event, request, marker(), currency="CNY")
    assert outcome.status is Status.UNKNOWN
    assert "Did not receive a response from the POI." in (outcome.reason_detail or "")


@pytest.mark.parametrize(
    ("name", "waited", "pending", "status"),
    [
        ("status_success", 0, False, Status.SUCCEEDED),
        ("status_in_progress", 500, False, Status.PENDING),
        ("status_not_found", 10, False, Status.UNKNOWN),
        ("status_not_found", 10, True, Status.PENDING),
        ("status_not_found", 151, False, Status.NOT_SENT),
        ("event_reject", 500, False, Status.UNKNOWN),
    ],
)
def test_status_answers(name: str, waited: float, pending: bool, status: Status) -> None:
    outcome = read_status(
        decode_reply(raw(name)), marker(), currency="CNY", waited=waited, wait=150, pending=pending
    )
    assert outcome.status is status


def test_an_answer_about_another_sale_transaction_decides_nothing() -> None:
    other = Marker("0420174835", "pay_SOMEONE_ELSE", 1, "payment", "Payment", "sync", marker().at)
    outcome = read_status(
        decode_reply(raw("status_success")),
        other,
        currency="CNY",
        waited=0,
        wait=150,
        pending=False,
    )
    assert outcome.status is Status.UNKNOWN and "pay_SOMEONE_ELSE" in (outcome.reason_detail or "")


def test_status_for_another_service_id_decides_nothing() -> None:
    outcome = read_status(
        decode_reply(raw("status_success")),
        marker("0000000001"),
        currency="CNY",
        waited=500,
        wait=150,
        pending=False,
    )
    assert outcome.status is Status.UNKNOWN


def test_response_wrapped_as_request_is_read_as_response() -> None:
    reply = decode_reply(raw("async_result_request_wrapper"))
    assert isinstance(reply, SaleToPOIResponse) and reply.PaymentResponse is not None


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda m: m["MessageHeader"].update(MessageCategory="Reversal"), "MessageCategory"),
        (lambda m: m["MessageHeader"].update(ServiceID="01234567890"), "ServiceID"),
        (lambda m: m["MessageHeader"].pop("POIID"), "POIID"),
        (lambda m: m["MessageHeader"].update(MessageType="Response"), "MessageType"),
        (lambda m: m.update(DiagnosisRequest={}), "exactly one"),
        (
            lambda m: m["PaymentRequest"]["SaleData"]["SaleTransactionID"].update(TimeStamp="x"),
            "ISO",
        ),
    ],
)
def test_broken_requests_are_refused_naming_the_field(mutate, where: str) -> None:  # type: ignore[no-untyped-def]
    data = wire.decode(raw("payment_request"))
    mutate(data["SaleToPOIRequest"])
    with pytest.raises(NexoFormatError, match=where):
        decode_request(wire.encode(data))


@pytest.mark.parametrize(
    "body",
    [b"", b"[]", b"{}", b'{"SaleToPOIRequest": 1}', b'{"a":1,"a":2}', b'{"x": NaN}', b"\xff"],
)
def test_garbage_is_a_format_error(body: bytes) -> None:
    with pytest.raises(NexoFormatError):
        decode_reply(body)
    with pytest.raises(NexoFormatError):
        decode_request(body)


def test_additional_response_forms() -> None:
    assert additional("refusalReason=Not%20enough%20balance&x=1")["refusalReason"] == (
        "Not enough balance"
    )
    assert additional("eyJhZGRpdGlvbmFsRGF0YSI6IHsicHNwUmVmZXJlbmNlIjogIjEyMyJ9fQ==") == {
        "pspReference": "123"
    }
    assert additional(None) == {} and additional("garbage") == {"message": "garbage"}
    assert text_line("key=filler") == "" and text_line("纯文本") == "纯文本"
    assert receipt_lines(None) == []


def test_event_and_request_models_are_what_the_header_says() -> None:
    event = decode_reply(raw("event_reject"))
    assert isinstance(event, SaleToPOIRequest) and event.body_name == "EventNotification"
    assert decode_request(raw("abort_request")).body_name == "AbortRequest"
