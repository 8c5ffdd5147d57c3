"""Hypothesis: nexo messages round-trip; garbage and mutations raise only ``NexoFormatError``."""

from __future__ import annotations

import contextlib
import copy
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paychannels import Money, Payment, Status
from paychannels.drivers.nexo import build, wire
from paychannels.drivers.nexo.additional import additional, receipt_lines, text_line
from paychannels.drivers.nexo.common import (
    OutputContent,
    OutputText,
    PaymentReceipt,
    TransactionIdentification,
)
from paychannels.drivers.nexo.envelope import decode_reply, decode_request, encode
from paychannels.drivers.nexo.errors import NexoFormatError
from paychannels.drivers.nexo.inquiry import read_reply, read_status
from paychannels.drivers.nexo.serviceids import Marker

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "nexo"
SAMPLES = {p.stem: wire.decode(p.read_bytes()) for p in sorted(FIXTURES.glob("*.json"))}
WHO = build.Identity(sale_id="county-hall-1", poiid="P400Plus-275039202")
T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.decimals(allow_nan=False, allow_infinity=False, places=3)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
ids = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=10)


def payment(minor: int, currency: str, operator: str | None) -> Payment:
    return Payment(
        id="pay_01JD3M8Q2W5X7Y9Z0ABCDEFGHJ",
        status=Status.DISPATCHED,
        channel="c",
        payer_id="p",
        reference="r",
        amount=Money.of_minor(minor, currency),
        idempotency_key="k",
        operator=operator,
        attempt=1,
        created_at=T0,
        updated_at=T0,
    )


@FUZZ
@given(
    st.integers(1, 10**11),
    st.sampled_from(["CNY", "EUR", "JPY", "KWD"]),
    ids,
    st.none() | st.text(max_size=20).filter(lambda s: "\x00" not in s),
)
@pytest.mark.slow
def test_payment_requests_round_trip(
    minor: int, currency: str, service_id: str, operator: str | None
) -> None:
    message = build.payment_request(WHO, service_id, payment(minor, currency, operator), T0)
    raw = encode(message)
    again = decode_request(raw)
    assert again == message
    amounts = again.PaymentRequest.PaymentTransaction.AmountsReq  # type: ignore[union-attr]
    assert Money(amounts.RequestedAmount, currency).minor == minor  # type: ignore[arg-type]


@FUZZ
@given(st.integers(1, 10**9), ids, st.booleans())
@pytest.mark.slow
def test_reversal_requests_round_trip(minor: int, service_id: str, partial: bool) -> None:
    original = TransactionIdentification(TransactionID="x.0001.000001", TimeStamp="2026-01-05")
    amount = Money.of_minor(minor, "CNY") if partial else None
    record = payment(minor, "CNY", None)
    message = build.reversal_request(WHO, service_id, record, original, T0, amount=amount)
    assert decode_request(encode(message)) == message


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_format_errors(data: bytes) -> None:
    for decode in (decode_reply, decode_request):
        with contextlib.suppress(NexoFormatError):
            decode(data)


@FUZZ
@given(json_values)
@pytest.mark.slow
def test_random_json_raises_only_format_errors(value: Any) -> None:
    for root in ("SaleToPOIRequest", "SaleToPOIResponse"):
        for body in (wire.encode({root: value}), wire.encode(value)):
            for decode in (decode_reply, decode_request):
                with contextlib.suppress(NexoFormatError):
                    decode(body)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += _paths(item, (*prefix, i))
    return out


@FUZZ
@given(st.sampled_from(sorted(SAMPLES)), st.data())
@pytest.mark.slow
def test_mutated_messages_raise_only_format_errors(name: str, data: st.DataObject) -> None:
    message = copy.deepcopy(SAMPLES[name])
    paths = [p for p in _paths(message) if p]
    path = data.draw(st.sampled_from(paths))
    parent = message
    for step in path[:-1]:
        parent = parent[step]
    if data.draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = data.draw(json_values)
    body = wire.encode(message)
    for decode in (decode_reply, decode_request):
        try:
            reply = decode(body)
        except NexoFormatError:
            continue
        if decode is decode_reply:
            _read_any(reply)


def _read_any(reply: Any) -> None:
    """Whatever parses must be read into an outcome without anything but our errors."""
    header = build.payment_request(WHO, "0420174835", payment(38000, "CNY", None), T0)
    mark = Marker("0420174835", "pay_x", 1, "payment", "Payment", "sync", T0)
    try:
        read_reply(reply, header.MessageHeader, mark, currency="CNY")
        read_status(reply, mark, currency="CNY", waited=0, wait=150, pending=False)
    except NexoFormatError:
        pass


@FUZZ
@given(st.text(max_size=200))
def test_additional_and_receipt_text_never_raise(text: str) -> None:
    assert isinstance(additional(text), dict)
    assert isinstance(text_line(text), str)
    receipt = PaymentReceipt(
        DocumentQualifier="CustomerReceipt",
        OutputContent=OutputContent(OutputFormat="Text", OutputText=[OutputText(Text=text)]),
    )
    assert isinstance(receipt_lines([receipt]), list)


@FUZZ
@given(st.decimals(min_value=0, max_value=Decimal("9999999999"), places=2))
@pytest.mark.slow
def test_decimals_are_written_digit_for_digit(amount: Decimal) -> None:
    assert wire.decode(wire.encode({"a": amount}))["a"] == amount
    assert wire.encode({"a": amount}) == f'{{"a":{amount:f}}}'.encode()


def test_timestamp_helper_is_utc_milliseconds() -> None:
    assert build.stamp(T0 + timedelta(microseconds=1500)) == "2026-01-05T09:00:00.001Z"
