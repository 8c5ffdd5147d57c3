"""Money: exact parsing, float refusal, currency rules, formatting round trips."""

from __future__ import annotations

import pickle
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paychannels import (
    CurrencyMismatch,
    InvalidAmount,
    Money,
    PaymentRequest,
    UnknownCurrency,
    currency,
)
from paychannels.values.currencies import all_currencies
from paychannels.values.money import MAX_MINOR

currencies = st.sampled_from(all_currencies())
minor_units = st.integers(min_value=-MAX_MINOR, max_value=MAX_MINOR)


def test_design_example() -> None:
    m = Money("380.00", "CNY")
    assert m.minor == 38000
    assert m.currency.code == "CNY"
    assert m.to_decimal_string() == "380.00"
    assert m.format() == "¥380.00"
    assert str(Money("1380.5", "CNY")) == "¥1,380.50"


def test_exponents_come_from_iso_4217() -> None:
    assert Money("380", "JPY").minor == 380
    assert Money("1.234", "BHD").minor == 1234
    assert Money("0.0001", "CLF").minor == 1
    assert currency("CNY").numeric == 156
    assert currency(156).code == "CNY"


@pytest.mark.parametrize("bad", [0.1, 380.0, float("nan")])
def test_float_is_a_type_error(bad: float) -> None:
    with pytest.raises(TypeError, match="float"):
        Money(bad, "CNY")  # type: ignore[arg-type]


def test_float_refused_everywhere() -> None:
    m = Money("1.00", "CNY")
    with pytest.raises(TypeError):
        m + 0.5  # type: ignore[operator]
    with pytest.raises(TypeError):
        m * 1.5  # type: ignore[operator]
    with pytest.raises(TypeError):
        Money.of_minor(1.0, "CNY")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        PaymentRequest(payer_id="p", amount=0.1, reference="r", idempotency_key="k")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text", ["380.001", "1.2.3", "", "abc", "380,00", " . ", "1e3", "--1", "0x10", "١٢٣"]
)
def test_malformed_or_too_precise_strings(text: str) -> None:
    with pytest.raises(InvalidAmount):
        Money(text, "CNY")


def test_decimal_is_exact() -> None:
    assert Money(Decimal("0.10"), "CNY").minor == 10
    with pytest.raises(InvalidAmount):
        Money(Decimal("0.105"), "CNY")
    with pytest.raises(InvalidAmount):
        Money(Decimal("Infinity"), "CNY")
    assert Money("380.000", "CNY").minor == 38000  # trailing zeros are exact


def test_unknown_and_lower_case_currency() -> None:
    with pytest.raises(UnknownCurrency, match="upper case"):
        Money("1", "cny")
    with pytest.raises(UnknownCurrency):
        Money("1", "XXY")


def test_arithmetic_within_one_currency() -> None:
    a, b = Money("1.10", "CNY"), Money("2.20", "CNY")
    assert (a + b).minor == 330
    assert (b - a).minor == 110
    assert (a * 3).minor == 330
    assert sum([a, b, a]) == Money("4.40", "CNY")
    assert -a < a
    with pytest.raises(CurrencyMismatch):
        a + Money("1", "EUR")
    with pytest.raises(CurrencyMismatch):
        _ = a < Money("1", "EUR")


def test_parse_people_forms() -> None:
    assert Money.parse("CNY 380.00").minor == 38000
    assert Money.parse("380.00 CNY").minor == 38000
    assert Money.parse("¥1,380.00").minor == 138000
    assert Money.parse("12.5", "CNY").minor == 1250
    with pytest.raises(CurrencyMismatch):
        Money.parse("EUR 1", "CNY")
    with pytest.raises(InvalidAmount):
        Money.parse("12.5")


def test_immutable_hashable_picklable() -> None:
    m = Money("3.80", "CNY")
    with pytest.raises(AttributeError):
        m._minor = 1  # type: ignore[misc]
    assert {m, Money("3.8", "CNY")} == {m}
    assert pickle.loads(pickle.dumps(m)) == m


def test_range_limit() -> None:
    with pytest.raises(InvalidAmount):
        Money.of_minor(10**18, "CNY")


@given(minor_units, currencies)
def test_round_trip_wire_form(minor: int, cur: object) -> None:
    m = Money.of_minor(minor, cur)  # type: ignore[arg-type]
    assert Money(m.to_decimal_string(), m.currency) == m
    assert Money(m.amount, m.currency) == m


@given(minor_units, currencies)
def test_round_trip_people_form(minor: int, cur: object) -> None:
    m = Money.of_minor(minor, cur)  # type: ignore[arg-type]
    assert Money.parse(m.format(), m.currency) == m


@given(
    st.decimals(
        allow_nan=False, allow_infinity=False, places=2, max_value=10**15, min_value=-(10**15)
    )
)
def test_decimal_two_places_always_exact_for_cny(value: Decimal) -> None:
    assert Money(value, "CNY").amount == value


def test_pydantic_round_trip() -> None:
    req = PaymentRequest(
        payer_id="p", amount=Money("3.80", "CNY"), reference="r", idempotency_key="k"
    )
    data = req.model_dump(mode="json")
    assert data["amount"] == {"minor": 380, "currency": "CNY"}
    assert PaymentRequest.model_validate(data) == req


def test_of_minor_checks_what_it_is_given() -> None:
    """The fast path (an exact int, a known code) refuses what the slow one did."""
    from enum import IntEnum

    class Fen(IntEnum):
        ONE = 1

    assert Money.of_minor(Fen.ONE, "CNY").minor == 1  # an int subclass is an int
    for bad in (True, False, 1.0, "1"):
        with pytest.raises(TypeError):
            Money.of_minor(bad, "CNY")  # type: ignore[arg-type]
    assert Money.of_minor(-(10**18 - 1), "CNY").minor == -(10**18 - 1)
    with pytest.raises(InvalidAmount):
        Money.of_minor(10**18, "CNY")
    with pytest.raises(UnknownCurrency, match="upper case"):
        Money.of_minor(1, "cny")
    assert Money.of_minor(1, 156).currency.code == "CNY"
