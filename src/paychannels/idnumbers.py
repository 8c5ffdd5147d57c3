"""Chinese resident identity card numbers (公民身份号码, GB 11643-1999): 18 characters.

Six digits of region, eight of birth date, three of sequence (odd for men), and an ISO 7064
MOD 11-2 check character (``0``-``9`` or ``X``). ``check_resident_id`` says what is wrong
with a number, or nothing; the rosters use it to refuse typos before money is asked for.
"""

from __future__ import annotations

from datetime import date

__all__ = ["check_digit", "check_resident_id", "with_check_digit"]

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
# first two digits: the province-level divisions that issue numbers
_PROVINCES = frozenset(
    {
        11,
        12,
        13,
        14,
        15,
        21,
        22,
        23,
        31,
        32,
        33,
        34,
        35,
        36,
        37,
        41,
        42,
        43,
        44,
        45,
        46,
        50,
        51,
        52,
        53,
        54,
        61,
        62,
        63,
        64,
        65,
        71,
        81,
        82,
        83,
        91,
    }
)


def check_digit(first17: str) -> str:
    """The check character for the first 17 digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("the check digit needs exactly 17 digits")
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def with_check_digit(first17: str) -> str:
    """17 digits plus their check character: a valid-looking number (for tests and demos)."""
    return first17 + check_digit(first17)


def check_resident_id(value: str, *, today: date | None = None) -> str | None:
    """What is wrong with a resident ID number, or None when it is well-formed."""
    if len(value) != 18:
        return f"has {len(value)} characters, a resident ID number has 18"
    body, last = value[:17], value[17]
    if not body.isdigit() or not (last.isdigit() or last == "X"):
        return "must be 17 digits and a digit or X (capital)"
    if int(body[:2]) not in _PROVINCES:
        return f"region code {body[:6]} is not a Chinese province"
    try:
        born = date(int(body[6:10]), int(body[10:12]), int(body[12:14]))
    except ValueError:
        return f"birth date {body[6:14]} is not a date"
    if born.year < 1900 or born > (today or date.today()):
        return f"birth date {born.isoformat()} is out of range"
    if check_digit(body) != last:
        return f"check digit is {last}, expected {check_digit(body)} (a typo?)"
    return None
