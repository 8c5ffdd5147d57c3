"""ISO 4217 currencies: code, numeric code, minor-unit exponent and a display symbol.

Money needs the exponent to turn "380.00" into 38000 fen; wire formats (ZVT BMP 49,
ISO 20022 @Ccy) need the numeric or alphabetic code. Only active codes are listed.
"""

from __future__ import annotations

from dataclasses import dataclass

from paychannels.values.errors import UnknownCurrency

__all__ = ["Currency", "all_currencies", "currency", "currency_for_symbol"]


@dataclass(frozen=True, slots=True)
class Currency:
    """One ISO 4217 currency: ``code`` (CNY), ``numeric`` (156), ``exponent`` (2)."""

    code: str
    numeric: int
    exponent: int
    symbol: str = ""

    def __str__(self) -> str:
        return self.code


# code, numeric, exponent[, symbol] — ISO 4217 list of active codes (amendment 177+).
_TABLE: tuple[tuple[str, int, int, str], ...] = (
    ("AED", 784, 2, ""),
    ("AFN", 971, 2, ""),
    ("ALL", 8, 2, ""),
    ("AMD", 51, 2, ""),
    ("AOA", 973, 2, ""),
    ("ARS", 32, 2, ""),
    ("AUD", 36, 2, "A$"),
    ("AWG", 533, 2, ""),
    ("AZN", 944, 2, ""),
    ("BAM", 977, 2, ""),
    ("BBD", 52, 2, ""),
    ("BDT", 50, 2, ""),
    ("BHD", 48, 3, ""),
    ("BIF", 108, 0, ""),
    ("BMD", 60, 2, ""),
    ("BND", 96, 2, ""),
    ("BOB", 68, 2, ""),
    ("BOV", 984, 2, ""),
    ("BRL", 986, 2, "R$"),
    ("BSD", 44, 2, ""),
    ("BTN", 64, 2, ""),
    ("BWP", 72, 2, ""),
    ("BYN", 933, 2, ""),
    ("BZD", 84, 2, ""),
    ("CAD", 124, 2, "C$"),
    ("CDF", 976, 2, ""),
    ("CHE", 947, 2, ""),
    ("CHF", 756, 2, ""),
    ("CHW", 948, 2, ""),
    ("CLF", 990, 4, ""),
    ("CLP", 152, 0, ""),
    ("CNY", 156, 2, "¥"),
    ("COP", 170, 2, ""),
    ("COU", 970, 2, ""),
    ("CRC", 188, 2, ""),
    ("CUP", 192, 2, ""),
    ("CVE", 132, 2, ""),
    ("CZK", 203, 2, ""),
    ("DJF", 262, 0, ""),
    ("DKK", 208, 2, ""),
    ("DOP", 214, 2, ""),
    ("DZD", 12, 2, ""),
    ("EGP", 818, 2, ""),
    ("ERN", 232, 2, ""),
    ("ETB", 230, 2, ""),
    ("EUR", 978, 2, "€"),
    ("FJD", 242, 2, ""),
    ("FKP", 238, 2, ""),
    ("GBP", 826, 2, "£"),
    ("GEL", 981, 2, ""),
    ("GHS", 936, 2, ""),
    ("GIP", 292, 2, ""),
    ("GMD", 270, 2, ""),
    ("GNF", 324, 0, ""),
    ("GTQ", 320, 2, ""),
    ("GYD", 328, 2, ""),
    ("HKD", 344, 2, "HK$"),
    ("HNL", 340, 2, ""),
    ("HTG", 332, 2, ""),
    ("HUF", 348, 2, ""),
    ("IDR", 360, 2, ""),
    ("ILS", 376, 2, "₪"),
    ("INR", 356, 2, "₹"),
    ("IQD", 368, 3, ""),
    ("IRR", 364, 2, ""),
    ("ISK", 352, 0, ""),
    ("JMD", 388, 2, ""),
    ("JOD", 400, 3, ""),
    ("JPY", 392, 0, "JP¥"),
    ("KES", 404, 2, ""),
    ("KGS", 417, 2, ""),
    ("KHR", 116, 2, ""),
    ("KMF", 174, 0, ""),
    ("KPW", 408, 2, ""),
    ("KRW", 410, 0, "₩"),
    ("KWD", 414, 3, ""),
    ("KYD", 136, 2, ""),
    ("KZT", 398, 2, ""),
    ("LAK", 418, 2, ""),
    ("LBP", 422, 2, ""),
    ("LKR", 144, 2, ""),
    ("LRD", 430, 2, ""),
    ("LSL", 426, 2, ""),
    ("LYD", 434, 3, ""),
    ("MAD", 504, 2, ""),
    ("MDL", 498, 2, ""),
    ("MGA", 969, 2, ""),
    ("MKD", 807, 2, ""),
    ("MMK", 104, 2, ""),
    ("MNT", 496, 2, "₮"),
    ("MOP", 446, 2, "MOP$"),
    ("MRU", 929, 2, ""),
    ("MUR", 480, 2, ""),
    ("MVR", 462, 2, ""),
    ("MWK", 454, 2, ""),
    ("MXN", 484, 2, "MX$"),
    ("MXV", 979, 2, ""),
    ("MYR", 458, 2, ""),
    ("MZN", 943, 2, ""),
    ("NAD", 516, 2, ""),
    ("NGN", 566, 2, ""),
    ("NIO", 558, 2, ""),
    ("NOK", 578, 2, ""),
    ("NPR", 524, 2, ""),
    ("NZD", 554, 2, "NZ$"),
    ("OMR", 512, 3, ""),
    ("PAB", 590, 2, ""),
    ("PEN", 604, 2, ""),
    ("PGK", 598, 2, ""),
    ("PHP", 608, 2, ""),
    ("PKR", 586, 2, ""),
    ("PLN", 985, 2, ""),
    ("PYG", 600, 0, ""),
    ("QAR", 634, 2, ""),
    ("RON", 946, 2, ""),
    ("RSD", 941, 2, ""),
    ("RUB", 643, 2, ""),
    ("RWF", 646, 0, ""),
    ("SAR", 682, 2, ""),
    ("SBD", 90, 2, ""),
    ("SCR", 690, 2, ""),
    ("SDG", 938, 2, ""),
    ("SEK", 752, 2, ""),
    ("SGD", 702, 2, ""),
    ("SHP", 654, 2, ""),
    ("SLE", 925, 2, ""),
    ("SOS", 706, 2, ""),
    ("SRD", 968, 2, ""),
    ("SSP", 728, 2, ""),
    ("STN", 930, 2, ""),
    ("SVC", 222, 2, ""),
    ("SYP", 760, 2, ""),
    ("SZL", 748, 2, ""),
    ("THB", 764, 2, "฿"),
    ("TJS", 972, 2, ""),
    ("TMT", 934, 2, ""),
    ("TND", 788, 3, ""),
    ("TOP", 776, 2, ""),
    ("TRY", 949, 2, ""),
    ("TTD", 780, 2, ""),
    ("TWD", 901, 2, "NT$"),
    ("TZS", 834, 2, ""),
    ("UAH", 980, 2, ""),
    ("UGX", 800, 0, ""),
    ("USD", 840, 2, "$"),
    ("USN", 997, 2, ""),
    ("UYI", 940, 0, ""),
    ("UYU", 858, 2, ""),
    ("UYW", 927, 4, ""),
    ("UZS", 860, 2, ""),
    ("VED", 926, 2, ""),
    ("VES", 928, 2, ""),
    ("VND", 704, 0, "₫"),
    ("VUV", 548, 0, ""),
    ("WST", 882, 2, ""),
    ("XAF", 950, 0, ""),
    ("XCD", 951, 2, ""),
    ("XCG", 532, 2, ""),
    ("XOF", 952, 0, ""),
    ("XPF", 953, 0, ""),
    ("YER", 886, 2, ""),
    ("ZAR", 710, 2, "R"),
    ("ZMW", 967, 2, ""),
    ("ZWG", 924, 2, ""),
)

_BY_CODE: dict[str, Currency] = {
    row[0]: Currency(code=row[0], numeric=row[1], exponent=row[2], symbol=row[3]) for row in _TABLE
}
_BY_NUMERIC: dict[int, Currency] = {c.numeric: c for c in _BY_CODE.values()}
# Longest symbols first so "HK$" wins over "$".
_SYMBOLS: tuple[Currency, ...] = tuple(
    sorted((c for c in _BY_CODE.values() if c.symbol), key=lambda c: -len(c.symbol))
)


def currency(code: str | int | Currency) -> Currency:
    """Look up a currency by alphabetic code ("CNY"), numeric code (156) or pass one through."""
    if type(code) is str and (known := _BY_CODE.get(code)) is not None:
        return known  # the common case first: one C look-up (every amount a callback carries)
    if isinstance(code, Currency):
        return code
    if isinstance(code, bool):
        raise TypeError("currency code must be a 3-letter string or an ISO numeric code")
    if isinstance(code, int):
        found = _BY_NUMERIC.get(code)
        if found is None:
            raise UnknownCurrency(f"unknown ISO 4217 numeric currency code {code}")
        return found
    if not isinstance(code, str):
        raise TypeError(f"currency code must be a string, not {type(code).__name__}")
    found = _BY_CODE.get(code)
    if found is None:
        hint = " (codes are upper case)" if code.upper() in _BY_CODE else ""
        raise UnknownCurrency(f"unknown ISO 4217 currency code {code!r}{hint}")
    return found


def all_currencies() -> tuple[Currency, ...]:
    """Every currency this table knows, ordered by code."""
    return tuple(_BY_CODE[k] for k in sorted(_BY_CODE))


def currency_for_symbol(text: str) -> tuple[Currency, str] | None:
    """Split a leading currency symbol off people's input: "¥380" -> (CNY, "380")."""
    for cur in _SYMBOLS:
        if text.startswith(cur.symbol):
            return cur, text[len(cur.symbol) :]
    return None
