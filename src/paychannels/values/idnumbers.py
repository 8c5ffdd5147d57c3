"""Chinese resident identity card numbers (公民身份号码, GB 11643-1999): 18 characters.

Six digits of region, eight of birth date, three of sequence (odd for men), and an ISO 7064
MOD 11-2 check character (``0``-``9`` or ``X``). ``check_resident_id`` says what is wrong
with a number, or nothing; the rosters use it to refuse typos before money is asked for.
"""

from __future__ import annotations

from datetime import date

__all__ = [
    "CHECK_CHARACTERS",
    "PROVINCES",
    "WEIGHTS",
    "check_birth_date",
    "check_digit",
    "check_resident_id",
    "with_check_digit",
]

#: GB 11643's weights (2**(17-i) mod 11), for reference; see ``check_digit``
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
#: the check character for each weighted sum modulo 11
CHECK_CHARACTERS = "10X98765432"
#: first two digits: the province-level divisions that issue numbers
PROVINCES = frozenset(
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
    """The check character for the first 17 digits (``first17`` must be 17 ASCII digits).

    The weights are 2**(17-i) mod 11; 13 is 2 mod 11, so the weighted sum mod 11 is twice
    the digits read in base 13, mod 11 — one ``int()`` in C instead of a Python loop, which
    a 300,000-line roster notices.
    """
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("the check digit needs exactly 17 digits")
    return CHECK_CHARACTERS[2 * int(first17, 13) % 11]


def with_check_digit(first17: str) -> str:
    """17 digits plus their check character: a valid-looking number (for tests and demos)."""
    return first17 + check_digit(first17)


def check_resident_id(value: str, *, today: date | None = None) -> str | None:
    """What is wrong with a resident ID number, or None when it is well-formed."""
    if len(value) != 18:
        return f"has {len(value)} characters, a resident ID number has 18"
    body, last = value[:17], value[17]
    if not (body.isascii() and body.isdigit()) or not (last.isdigit() or last == "X"):
        return "must be 17 digits and a digit or X (capital)"
    if int(body[:2]) not in PROVINCES:
        return f"region code {body[:6]} is not a Chinese province"
    problem = check_birth_date(body[6:14], today=today or date.today())
    if problem is not None:
        return problem
    if check_digit(body) != last:
        return f"check digit is {last}, expected {check_digit(body)} (a typo?)"
    return None


def check_birth_date(yyyymmdd: str, *, today: date) -> str | None:
    """What is wrong with the eight birth-date digits of a number, or None."""
    try:
        born = date(int(yyyymmdd[0:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return f"birth date {yyyymmdd} is not a date"
    if born.year < 1900 or born > today:
        return f"birth date {born.isoformat()} is out of range"
    return None
