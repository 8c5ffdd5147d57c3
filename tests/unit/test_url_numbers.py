"""One rule for numeric channel URL options, in every driver: a finite number in ASCII
digits, within the option's range (timeouts are not negative, not NaN, not a century)."""

from __future__ import annotations

import pytest

from paychannels import InvalidURL, open_channel
from paychannels.values.urls import parse_url

BAD_SECONDS = ["nan", "NaN", "inf", "-inf", "-1", "1e999", "1e308", "", "３", "0x10", "5s"]


@pytest.mark.parametrize("value", BAD_SECONDS)
def test_float_options_are_finite_non_negative_and_bounded(value: str) -> None:
    parsed = parse_url(f"zvt+tcp://127.0.0.1:20007?t3={value}")
    with pytest.raises(InvalidURL, match=r"t3="):
        parsed.float_option("t3", 5.0)


@pytest.mark.parametrize("value", ["-1", "３", "1.5", "", "9" * 400, "nan"])
def test_int_options_are_ascii_whole_numbers_in_range(value: str) -> None:
    parsed = parse_url(f"bankfile+dir:///x?rows_per_file={value}")
    with pytest.raises(InvalidURL, match=r"rows_per_file="):
        parsed.int_option("rows_per_file", 0)


def test_good_values_still_read() -> None:
    parsed = parse_url("zvt+tcp://127.0.0.1:20007?t3=0.5&t4=180&retries=3")
    assert parsed.float_option("t3", 5.0) == 0.5
    assert parsed.float_option("t4", 5.0) == 180.0
    assert parsed.int_option("retries", 0) == 3
    assert parsed.float_option("absent", 7.0) == 7.0
    assert parse_url("x://h?utc=-5").float_option("utc", 8.0, minimum=-14, maximum=14) == -5.0


@pytest.mark.parametrize(
    "url",
    [
        "zvt+tcp://127.0.0.1:20007?t3=nan",
        "zvt+tcp://127.0.0.1:20007?t4=-1",
        "zvt+tcp://127.0.0.1:20007?lock_timeout=nan",
        "zvt+tcp://127.0.0.1:20007?t1=inf",
        "mispos+tcp://127.0.0.1:9100?profile=tlv-9f&answer_timeout=-3",
        "mispos+tcp://127.0.0.1:9100?profile=tlv-9f&lock_timeout=nan",
    ],
)
def test_drivers_refuse_bad_numbers(url: str) -> None:
    with pytest.raises(InvalidURL):
        open_channel(url)
