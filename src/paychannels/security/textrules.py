"""Rules for text that crosses our borders: what may come in, and how cells go out.

Coming in (payer ids, references, names, the roster): C0/C1 control characters, bidi
controls (U+061C, U+200E–200F, U+202A–202E, U+2066–2069) and invisible zero-width
characters (U+200B, U+2060–2064, U+FEFF) are refused — they make one id look like another
and reorder what a clerk reads. Joiners (U+200C/U+200D) and the Mongolian vowel separator
are parts of real names and stay. Going out: every CSV cell passes ``csv_cell`` (OWASP's
rule against formula injection), through ``csv_writer``, the one writer the library uses.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable
from typing import Any, Protocol

__all__ = ["CsvWriter", "check_text", "csv_cell", "csv_writer", "unsafe_character"]

_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
#: a cell starting with one of these is a formula to a spreadsheet
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?$")


def unsafe_character(text: str) -> tuple[int, str] | None:
    """The position and name (``U+202E RIGHT-TO-LEFT OVERRIDE``) of the first refused
    character, or None when the text is clean."""
    found = _UNSAFE.search(text)
    if found is None:
        return None
    char = found.group(0)
    return found.start(), f"U+{ord(char):04X} {unicodedata.name(char, 'CONTROL CHARACTER')}"


def check_text(value: str) -> str:
    """``value`` unchanged, or ``ValueError`` naming the refused character and where it is."""
    bad = unsafe_character(value)
    if bad is not None:
        raise ValueError(
            f"must not contain control, bidi or zero-width characters ({bad[1]} at {bad[0]})"
        )
    return value


def csv_cell(value: object) -> str:
    """A value as a CSV cell no spreadsheet runs: formulas get a leading single quote.

    A plain number (``-300.00``) stays as it is; ``None`` is an empty cell.
    """
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START) and not _NUMBER.match(text):
        return "'" + text
    return text


class _Sink(Protocol):
    def write(self, s: str, /) -> Any: ...


class CsvWriter:
    """``csv.writer`` whose every cell passes ``csv_cell``."""

    def __init__(self, fh: _Sink, **options: Any) -> None:
        self._writer = csv.writer(fh, **options)

    def writerow(self, row: Iterable[object]) -> None:
        """Write one row, every cell neutralised."""
        self._writer.writerow([csv_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        """Write many rows, every cell neutralised."""
        for row in rows:
            self.writerow(row)


def csv_writer(fh: _Sink, **options: Any) -> CsvWriter:
    """The CSV writer for every file the library writes (see ``csv_cell``)."""
    return CsvWriter(fh, **options)
