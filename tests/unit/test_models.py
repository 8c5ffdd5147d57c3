"""Requests and outcomes validate at the edge and name every bad field."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from paychannels import InvalidRequest, Money, Outcome, PaymentRequest, Status


def make(**over: object) -> PaymentRequest:
    base: dict[str, object] = dict(
        payer_id="150422199001011234",
        amount=Money("380.00", "CNY"),
        reference="2026",
        idempotency_key="k-1",
    )
    base.update(over)
    return PaymentRequest(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("amount", Money("0", "CNY"), "greater than zero"),
        ("amount", Money("-1", "CNY"), "greater than zero"),
        ("reference", "x" * 65, "at most 64"),
        ("reference", "   ", "blank"),
        ("payer_id", "", "at least 1"),
        ("payer_id", "a\nb", "control characters"),
        ("idempotency_key", "has space", "printable ASCII"),
        ("idempotency_key", "k" * 129, "at most 128"),
        ("payer_name", "张" * 101, "at most 100"),
        ("metadata", {"k": "v" * 513}, "longer than 512"),
        ("unknown_field", 1, "Extra inputs"),
    ],
)
def test_bad_fields_are_named(field: str, value: object, message: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        make(**{field: value})
    assert field in str(info.value) and message in str(info.value)
    assert info.value.errors[0]["field"] == field


def test_several_errors_reported_together() -> None:
    with pytest.raises(InvalidRequest) as info:
        make(reference="", payer_id="")
    assert {e["field"] for e in info.value.errors} == {"reference", "payer_id"}


def test_requests_are_frozen_and_chinese_is_fine() -> None:
    r = make(payer_name="乌力吉", region="ᠬᠥᠬᠡᠬᠣᠲᠠ", description="城乡居民养老保险")
    with pytest.raises(ValidationError, match="frozen"):
        r.reference = "x"  # type: ignore[misc]
    assert r.payer_name == "乌力吉"


def test_fingerprint_covers_request_and_channel() -> None:
    a = make()
    assert a.fingerprint("c") == make(idempotency_key="other").fingerprint("c")
    assert a.fingerprint("c") != a.fingerprint("d")
    assert a.fingerprint("c") != make(amount=Money("380.01", "CNY")).fingerprint("c")


def test_outcome_statuses_are_the_channels_only() -> None:
    for status in (Status.CREATED, Status.DISPATCHED, Status.NEEDS_ATTENTION):
        with pytest.raises(InvalidRequest, match="Collector owns"):
            Outcome(status=status)
    with pytest.raises(InvalidRequest, match="only goes with SUCCEEDED"):
        Outcome(status=Status.DECLINED, amount_taken=Money("1", "CNY"))
    assert Outcome.succeeded().status is Status.SUCCEEDED
