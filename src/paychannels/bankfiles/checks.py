"""The ISO 20022 schema rules for the values we write, checked as each value is written.

Lengths are counted in characters as XML Schema counts them (code points, so a rare name
character outside the BMP counts once). The character set is what XML 1.0 allows; the SEPA
profile narrows it to the EPC's basic Latin set. Amounts are integer minor units, written
with the currency's decimals and checked against ``ActiveOrHistoricCurrencyAndAmount``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from functools import cache

from paychannels.values.currencies import currency as currency_of

__all__ = [
    "ValueProblem",
    "check_amount",
    "check_bic",
    "check_code",
    "check_iban",
    "check_minor",
    "check_text",
    "escape",
    "format_amount",
    "format_minor",
]

# XML 1.0 characters minus the C0/C1 controls (a name never holds a tab or a newline)
_BAD = re.compile("[^\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SPECIAL = re.compile('[&<>"]')
_SEPA = re.compile(r"^[A-Za-z0-9/\-?:().,'+ ]*$")
_IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[a-zA-Z0-9]{1,30}$")
_BIC = {
    "02": re.compile(r"^[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?$"),
    "08": re.compile(r"^[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$"),
}
_IBAN_DIGITS = str.maketrans({chr(c): str(c - 55) for c in range(ord("A"), ord("Z") + 1)})
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})


class ValueProblem(ValueError):
    """A value that breaks a schema rule; the writer turns it into a ``BankFileError``."""


_UNSAFE = '\x00-\x1f\x7f-\x9f&<>"\ud800-\udfff\ufffe\uffff'


@cache
def plain_text(max_len: int) -> Callable[[str], re.Match[str] | None]:
    """A matcher for the common case: 1..max_len characters, XML-safe, nothing to escape,
    no leading or trailing space. One regex call; anything else takes the slow path."""
    return re.compile(
        rf"(?=.{{1,{max_len}}}\Z)[^\s{_UNSAFE}](?:[^{_UNSAFE}]*[^\s{_UNSAFE}])?\Z", re.DOTALL
    ).match


def escape(text: str) -> str:
    """Text for XML content or attribute values."""
    return text.translate(_ESCAPES) if _SPECIAL.search(text) else text


def check_text(value: str, *, field: str, max_len: int, sepa: bool = False) -> str:
    """A ``MaxNText`` value: 1..max_len characters, XML-safe, no control characters, no
    leading or trailing space (a bank compares names; it would not survive a round trip)."""
    if (
        0 < len(value) <= max_len
        and (value.isprintable() if value.isascii() else _BAD.search(value) is None)
        and not value[0].isspace()
        and not value[-1].isspace()
        and (not sepa or _SEPA.match(value))
    ):
        return value
    if not value or value.isspace():
        raise ValueProblem(f"{field} is empty")
    if value[0].isspace() or value[-1].isspace():
        raise ValueProblem(f"{field} {value!r} starts or ends with a space")
    if len(value) > max_len:
        raise ValueProblem(f"{field} has {len(value)} characters, at most {max_len} allowed")
    bad = _BAD.search(value)
    if bad:
        raise ValueProblem(f"{field} contains the character U+{ord(bad.group()):04X}")
    raise ValueProblem(f"{field} {value!r} leaves the SEPA character set")


def check_code(value: str, allowed: frozenset[str], *, field: str) -> str:
    """A closed code list value (SeqTp, LclInstrm...)."""
    if value not in allowed:
        raise ValueProblem(f"{field} {value!r} is not one of {', '.join(sorted(allowed))}")
    return value


def check_iban(value: str, *, field: str) -> str:
    """The IBAN2007Identifier pattern plus the ISO 13616 mod-97 check."""
    if not _IBAN.match(value):
        raise ValueProblem(f"{field} {value!r} is not an IBAN")
    if int((value[4:] + value[:4]).upper().translate(_IBAN_DIGITS)) % 97 != 1:
        raise ValueProblem(f"{field} {value!r} fails the IBAN check digits")
    return value


iban_shaped = re.compile(r"[A-Z]{2}[0-9]{2}").match


# "DE" -> "1314": the country letters as ISO 13616 turns them into digits
_COUNTRY_DIGITS = {
    a + b: f"{ord(a) - 55}{ord(b) - 55}"
    for a in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for b in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
}


def iban_valid(value: str) -> bool:
    """The IBAN pattern and check digits, without the explanation (the hot path)."""
    head = _COUNTRY_DIGITS.get(value[:2])
    digits = value[2:]
    if head is not None and 3 <= len(digits) <= 32 and digits.isascii() and digits.isdigit():
        # all-digit BBAN (most countries): no letters to translate
        return int(value[4:] + head + value[2:4]) % 97 == 1
    return _IBAN.match(value) is not None and (
        int((value[4:] + value[:4]).upper().translate(_IBAN_DIGITS)) % 97 == 1
    )


def check_bic(value: str, *, field: str, version: str) -> str:
    """The BIC pattern of the message version (``02``: BICIdentifier, ``08``: BICFI)."""
    if not _BIC[version].match(value):
        raise ValueProblem(f"{field} {value!r} is not a BIC")
    return value


def format_amount(minor: int, currency: str) -> str:
    """Integer minor units as the schema's decimal with the currency's decimals."""
    return format_minor(minor, currency_of(currency).exponent)


def format_minor(minor: int, digits: int) -> str:
    """``38000`` with 2 decimals -> ``380.00``."""
    if digits == 0:
        return str(minor)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**digits)
    return f"{sign}{whole}.{frac:0{digits}d}"


def check_amount(minor: object, currency: str, *, field: str, positive: bool = True) -> str:
    """An ``ActiveOrHistoricCurrencyAndAmount``: int minor units, >= 0, <= 18 digits."""
    return check_minor(minor, currency_of(currency).exponent, field=field, positive=positive)


def check_minor(minor: object, digits: int, *, field: str, positive: bool = True) -> str:
    """``check_amount`` with the currency's decimals already known (the hot path)."""
    if type(minor) is not int:
        raise ValueProblem(f"{field} must be integer minor units, not {type(minor).__name__}")
    if minor < 0 or (positive and minor == 0):
        raise ValueProblem(f"{field} must be greater than zero (got {minor})")
    if minor >= 10**18:
        raise ValueProblem(f"{field} {minor} has more than 18 digits")
    return format_minor(minor, digits)


def check_date(value: date, *, field: str) -> str:
    """An ``ISODate``."""
    if not isinstance(value, date):
        raise ValueProblem(f"{field} must be a date")
    return value.isoformat()
