"""Money: an integer number of minor units (fen, cents) in one ISO 4217 currency.

Floats are refused with ``TypeError`` (0.1 yuan has no exact binary form); decimal strings
and ``Decimal`` are parsed exactly and refused when they carry more decimals than the
currency has. Arithmetic is only defined within one currency.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Context, Decimal, DecimalException
from typing import Any, SupportsIndex

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

from paychannels.values.currencies import Currency, currency, currency_for_symbol
from paychannels.values.errors import CurrencyMismatch, InvalidAmount

__all__ = ["Money"]

_DECIMAL_RE = re.compile(r"^([+-]?)([0-9]+)(?:\.([0-9]+))?\Z")
# Grouping commas in people's input ("1,380.00") are accepted only with whole groups of three.
_GROUPED_RE = re.compile(r"^[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$")
MAX_MINOR = 10**18 - 1  # fits a signed 64-bit column and 18 ISO 20022 digits
_MAX_DIGITS = 40  # far beyond MAX_MINOR in any currency; longer digit runs are refused unread
# a private context: no global decimal setting can make scaling raise or round
_EXACT = Context(prec=60, Emax=10**6, Emin=-(10**6), traps=[])


class Money:
    """An exact amount: ``Money("380.00", "CNY").minor == 38000``.

    ``amount`` may be a decimal string ("380", "380.5", "380.00"), a ``Decimal`` or an ``int``
    (whole units of the currency). Use :meth:`of_minor` to build from minor units.
    """

    __slots__ = ("_currency", "_minor")

    _minor: int
    _currency: Currency

    def __init__(self, amount: str | Decimal | int, currency_code: str | Currency) -> None:
        cur = currency(currency_code)
        object.__setattr__(self, "_currency", cur)
        object.__setattr__(self, "_minor", _to_minor(amount, cur))

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def of_minor(cls, minor: int, currency_code: str | Currency) -> Money:
        """Build from minor units: ``Money.of_minor(38000, "CNY")`` is ¥380.00."""
        if type(minor) is not int and (isinstance(minor, bool) or not isinstance(minor, int)):
            raise TypeError(f"minor units must be an int, not {type(minor).__name__}")
        if not -MAX_MINOR <= minor <= MAX_MINOR:
            _check_range(minor, minor)
        obj = cls.__new__(cls)
        object.__setattr__(obj, "_currency", currency(currency_code))
        object.__setattr__(obj, "_minor", minor)
        return obj

    @classmethod
    def zero(cls, currency_code: str | Currency) -> Money:
        """Zero in a currency, the start value for sums."""
        return cls.of_minor(0, currency_code)

    @classmethod
    def parse(cls, text: str, currency_code: str | Currency | None = None) -> Money:
        """Parse people's forms: "380.00", "CNY 380.00", "380.00 CNY", "¥1,380.00"."""
        if not isinstance(text, str):
            raise TypeError(f"Money.parse takes a string, not {type(text).__name__}")
        raw = text.strip()
        sign = ""
        if raw[:1] in ("-", "+") and not raw[1:2].isdigit():  # "-¥1.00", "-AED 0.01"
            sign, raw = raw[0], raw[1:].lstrip()
        code: str | None = None
        parts = raw.split()
        if len(parts) == 2 and parts[0].isalpha() and len(parts[0]) == 3:
            code, raw = parts[0], parts[1]
        elif len(parts) == 2 and parts[1].isalpha() and len(parts[1]) == 3:
            raw, code = parts[0], parts[1]
        if code is None and raw and not raw[0].isdigit() and raw[0] not in "+-":
            by_symbol = currency_for_symbol(raw)
            if by_symbol is not None:
                code, raw = by_symbol[0].code, by_symbol[1]
        if (
            code is not None
            and currency_code is not None
            and currency(code) != currency(currency_code)
        ):
            raise CurrencyMismatch(
                f"{_shown(text)} is in {code}, expected {currency(currency_code)}"
            )
        chosen = code if code is not None else currency_code
        if chosen is None:
            raise InvalidAmount(f"{_shown(text)} names no currency; pass one")
        if _GROUPED_RE.match(raw):
            raw = raw.replace(",", "")
        if sign and raw[:1] in ("-", "+"):
            raise InvalidAmount(f"{_shown(text)} has two signs")
        return cls(sign + raw, chosen)

    # -- accessors ------------------------------------------------------------------------

    @property
    def minor(self) -> int:
        """The amount in minor units (fen for CNY)."""
        return self._minor

    @property
    def currency(self) -> Currency:
        """The ISO 4217 currency."""
        return self._currency

    @property
    def amount(self) -> Decimal:
        """The exact amount in major units as a ``Decimal`` (``Decimal('380.00')``)."""
        return Decimal(self._minor).scaleb(-self._currency.exponent)

    def is_positive(self) -> bool:
        """True when strictly greater than zero."""
        return self._minor > 0

    # -- formatting -----------------------------------------------------------------------

    def to_decimal_string(self) -> str:
        """The wire form with the currency's decimals: ``"380.00"``, ``"-0.05"``, JPY ``"380"``."""
        exp = self._currency.exponent
        sign = "-" if self._minor < 0 else ""
        digits = str(abs(self._minor))
        if exp == 0:
            return sign + digits
        digits = digits.rjust(exp + 1, "0")
        return f"{sign}{digits[:-exp]}.{digits[-exp:]}"

    def format(self, *, grouping: bool = True) -> str:
        """For people: ``¥1,380.00`` (symbol when known, else ``CNY 1,380.00``)."""
        text = self.to_decimal_string()
        sign = ""
        if text.startswith("-"):
            sign, text = "-", text[1:]
        whole, _, frac = text.partition(".")
        if grouping:
            whole = f"{int(whole):,}"
        body = whole + ("." + frac if frac else "")
        sym = self._currency.symbol
        return f"{sign}{sym}{body}" if sym else f"{sign}{self._currency.code} {body}"

    def __str__(self) -> str:
        return self.format()

    def __repr__(self) -> str:
        return f"Money({self.to_decimal_string()!r}, {self._currency.code!r})"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    # -- value semantics ------------------------------------------------------------------

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Money is immutable")

    def __hash__(self) -> int:
        return hash((self._minor, self._currency.code))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Money):
            return self._minor == other._minor and self._currency == other._currency
        return NotImplemented

    def _same(self, other: object, op: str) -> Money:
        if isinstance(other, float):
            raise TypeError(f"cannot {op} Money and float; use Money or an exact decimal string")
        if not isinstance(other, Money):
            raise TypeError(f"cannot {op} Money and {type(other).__name__}")
        if other._currency != self._currency:
            raise CurrencyMismatch(
                f"cannot {op} {self._currency.code} and {other._currency.code} amounts"
            )
        return other

    def __lt__(self, other: object) -> bool:
        return self._minor < self._same(other, "compare")._minor

    def __le__(self, other: object) -> bool:
        return self._minor <= self._same(other, "compare")._minor

    def __gt__(self, other: object) -> bool:
        return self._minor > self._same(other, "compare")._minor

    def __ge__(self, other: object) -> bool:
        return self._minor >= self._same(other, "compare")._minor

    def __add__(self, other: object) -> Money:
        if isinstance(other, int) and not isinstance(other, bool) and other == 0:
            return self  # lets sum() start from 0
        return Money.of_minor(self._minor + self._same(other, "add")._minor, self._currency)

    def __radd__(self, other: object) -> Money:
        return self.__add__(other)

    def __sub__(self, other: object) -> Money:
        return Money.of_minor(self._minor - self._same(other, "subtract")._minor, self._currency)

    def __neg__(self) -> Money:
        return Money.of_minor(-self._minor, self._currency)

    def __abs__(self) -> Money:
        return Money.of_minor(abs(self._minor), self._currency)

    def __mul__(self, factor: SupportsIndex) -> Money:
        if isinstance(factor, float):
            raise TypeError("cannot multiply Money by a float")
        if isinstance(factor, bool) or not isinstance(factor, int):
            raise TypeError(f"Money can only be multiplied by an int, not {type(factor).__name__}")
        return Money.of_minor(self._minor * factor, self._currency)

    __rmul__ = __mul__

    def __bool__(self) -> bool:
        return self._minor != 0

    def __reduce__(self) -> tuple[Any, ...]:
        return (Money.of_minor, (self._minor, self._currency.code))

    # -- pydantic -------------------------------------------------------------------------

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            _coerce,
            serialization=core_schema.plain_serializer_function_ser_schema(
                _serialize, when_used="always"
            ),
            json_schema_input_schema=core_schema.typed_dict_schema(
                {
                    "minor": core_schema.typed_dict_field(core_schema.int_schema()),
                    "currency": core_schema.typed_dict_field(core_schema.str_schema()),
                }
            ),
        )


def _serialize(value: Money) -> dict[str, object]:
    return {"minor": value.minor, "currency": value.currency.code}


def _coerce(value: object) -> Money:
    """Accept a Money or ``{"minor": int, "currency": str}`` (or ``{"amount": "380.00", ...}``)."""
    if isinstance(value, Money):
        return value
    if isinstance(value, float):
        raise TypeError("amounts must not be floats; use Money or an exact decimal string")
    if isinstance(value, Mapping):
        cur = value.get("currency")
        if not isinstance(cur, str):
            raise ValueError("an amount needs a 'currency' code")
        if "minor" in value:
            minor = value["minor"]
            if isinstance(minor, float):
                raise TypeError("minor units must not be a float")
            if isinstance(minor, bool) or not isinstance(minor, int):
                raise ValueError("'minor' must be an integer number of minor units")
            return Money.of_minor(minor, cur)
        if "amount" in value:
            amount = value["amount"]
            if isinstance(amount, float):
                raise TypeError("amounts must not be floats; use an exact decimal string")
            if not isinstance(amount, str | Decimal | int):
                raise ValueError("'amount' must be a decimal string")
            return Money(amount, cur)
        raise ValueError("an amount needs 'minor' or 'amount'")
    raise ValueError(f"expected Money, not {type(value).__name__}")


def _shown(value: object) -> str:
    """A value for an error message: ``repr``, shortened (a 5,000-digit amount is named, not
    echoed; a huge int is never turned into text, which Python itself refuses)."""
    if isinstance(value, int) and value.bit_length() > 200:
        return f"an integer of about {int(value.bit_length() * 0.30103)} digits"
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:30]}…({len(text)} characters)"


def _check_range(minor: int, shown: object = None) -> None:
    if abs(minor) > MAX_MINOR:
        what = _shown(minor if shown is None else shown)
        raise InvalidAmount(f"{what} is beyond the supported 18 digits of minor units")


def _to_minor(amount: object, cur: Currency) -> int:
    if isinstance(amount, float):
        raise TypeError(
            "Money refuses floats (0.1 has no exact binary form): pass a decimal string "
            "like '380.00', a Decimal, or use Money.of_minor(38000, 'CNY')"
        )
    if isinstance(amount, bool):
        raise TypeError("Money amount must be a decimal string, Decimal or int, not bool")
    if isinstance(amount, int):
        minor: int = amount * 10**cur.exponent
        _check_range(minor, amount)
        return minor
    if isinstance(amount, Decimal):
        return _decimal_to_minor(amount, cur, repr(amount))
    if isinstance(amount, str):
        text = amount.strip()
        match = _DECIMAL_RE.match(text)
        if match is None:
            raise InvalidAmount(
                f"{_shown(amount)} is not a decimal amount (expected ASCII digits with an "
                f"optional '.' and at most {cur.exponent} decimals, e.g. '380.00')"
            )
        sign, whole, frac = match.group(1), match.group(2), match.group(3) or ""
        if len(frac) > cur.exponent:
            extra = frac[cur.exponent :]
            if extra.strip("0"):
                raise InvalidAmount(
                    f"{_shown(amount)} has more decimals than {cur.code} allows ({cur.exponent})"
                )
            frac = frac[: cur.exponent]
        if len(whole.lstrip("0")) > _MAX_DIGITS:
            _check_range(MAX_MINOR + 1, amount)
        minor = int(whole + frac.ljust(cur.exponent, "0"))
        if sign == "-":
            minor = -minor
        _check_range(minor, amount)
        return minor
    raise TypeError(
        f"Money amount must be a decimal string, Decimal or int, not {type(amount).__name__}"
    )


def _decimal_to_minor(value: Decimal, cur: Currency, shown: str) -> int:
    """Exact, whatever the value's exponent or the thread's decimal context: the magnitude is
    judged from the digits and exponent before anything is computed."""
    shown = _shown(value) if len(shown) > 40 else shown
    if not value.is_finite():
        raise InvalidAmount(f"{shown} is not a finite amount")
    if value.is_zero():
        return 0
    if value.adjusted() + cur.exponent > _MAX_DIGITS:
        raise InvalidAmount(f"{shown} is beyond the supported 18 digits of minor units")
    if value.adjusted() + cur.exponent < -1:
        raise InvalidAmount(f"{shown} has more decimals than {cur.code} allows ({cur.exponent})")
    try:
        scaled = value.scaleb(cur.exponent, context=_EXACT)
        integral = scaled.to_integral_value(context=_EXACT)
    except DecimalException as exc:  # pragma: no cover - bounded above
        raise InvalidAmount(f"{shown} cannot be represented in {cur.code}") from exc
    if integral != scaled:
        raise InvalidAmount(f"{shown} has more decimals than {cur.code} allows ({cur.exponent})")
    minor = int(integral)
    _check_range(minor, value)
    return minor
