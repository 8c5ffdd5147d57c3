"""Money's constructors on hostile input: only the library's typed errors, naming the value."""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paychannels import InvalidAmount, Money, MoneyError
from paychannels.values.currencies import all_currencies

CODES = st.sampled_from([c.code for c in all_currencies()] + ["cny", "XXX1", "", "ＣＮＹ"])


@pytest.mark.parametrize(
    "make",
    [
        lambda: Money("9" * 5000, "CNY"),
        lambda: Money.parse("9" * 5000 + " CNY"),
        lambda: Money.parse("¥" + "9" * 5000),
        lambda: Money(10**5000, "CNY"),
        lambda: Money(Decimal("1E+999999"), "CNY"),
        lambda: Money(Decimal("-1E-999999"), "CNY"),
        lambda: Money(Decimal("9" * 5000), "CNY"),
        lambda: Money.of_minor(10**5000, "CNY"),
        lambda: Money("４００.００", "CNY"),
        lambda: Money.parse("CNY ４００.００"),
        lambda: Money.parse("¥٤٠٠"),
    ],
    ids=[
        "long-string",
        "parse-long",
        "parse-symbol-long",
        "huge-int",
        "decimal-overflow",
        "decimal-tiny",
        "decimal-long",
        "of-minor-huge",
        "full-width",
        "parse-full-width",
        "arabic-indic",
    ],
)
def test_hostile_amounts_are_invalid_amount(make: object) -> None:
    with pytest.raises(InvalidAmount) as caught:
        make()  # type: ignore[operator]
    assert len(str(caught.value)) < 300, "the message names the value, shortened"


def test_the_message_names_the_value() -> None:
    with pytest.raises(InvalidAmount, match="999999999"):
        Money("9" * 5000, "CNY")
    with pytest.raises(InvalidAmount, match="1E"):
        Money(Decimal("1E+999999"), "CNY")


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=60) | st.from_regex(r"[+-]?[0-9]{1,5000}(\.[0-9]{0,40})?"), code=CODES)
@pytest.mark.slow
def test_string_constructors_raise_only_typed_errors(text: str, code: str) -> None:
    for make in (lambda: Money(text, code), lambda: Money.parse(text, code or None)):
        with contextlib.suppress(MoneyError):
            make()


@settings(max_examples=300, deadline=None)
@given(
    value=st.decimals(allow_nan=True, allow_infinity=True)
    | st.integers()
    | st.builds(lambda e: Decimal(f"1E{e}"), st.integers(-(10**6), 10**6)),
    code=CODES,
)
@pytest.mark.slow
def test_number_constructors_raise_only_typed_errors(value: Decimal | int, code: str) -> None:
    with contextlib.suppress(MoneyError):
        Money(value, code)
    if isinstance(value, int):
        with contextlib.suppress(MoneyError):
            Money.of_minor(value, code)
