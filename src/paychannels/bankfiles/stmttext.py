"""Chinese banks' account-statement exports (账户明细/对账单): GBK or GB18030 text, as data.

Like the batch-deduction files (``bankfiles/layout.py``), no two banks agree, so a
``StatementLayout`` TOML file says how a bank's export looks: the encoding, the delimiter,
the amount unit, which column of the head line is the account, the period and the balances,
and which detail column is the booking day, the debit and credit amounts (借方/贷方) or
one amount with a direction (借/贷), the bank's serial number and the remark. Shipped layouts
are ``bankfiles/data/statement-<name>.toml``; another bank is one more file, no code. Reading
streams line by line; anything that does not fit names the file, line and column.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Literal

from pydantic import Field as Spec

from paychannels.bankfiles.errors import BankFileError
from paychannels.bankfiles.statement import StatementHead, StatementLine
from paychannels.values.configfile import FileModel, configuration_error, read
from paychannels.values.currencies import currency
from paychannels.values.errors import ConfigurationError, UnknownCurrency

__all__ = ["StatementLayout", "load_statement_layout", "read_statement_text"]

HeadRole = Literal["account", "currency", "from", "to", "opening", "closing", "id", "skip"]
LineRole = Literal[
    "booked", "value", "debit", "credit", "amount", "direction", "bank_ref", "ref", "text", "skip"
]


class StatementLayout(FileModel):
    """A bank's statement export: one head line, then one line per booking."""

    name: str
    title: str = ""
    encoding: Literal["gbk", "gb18030", "utf-8"] = "gb18030"
    delimiter: str = Spec(min_length=1, max_length=1)
    amount_unit: Literal["yuan", "fen"] = "yuan"
    date_format: str = "%Y%m%d"
    head: list[HeadRole]
    detail: list[LineRole]
    #: for a ``direction`` column: which text is a credit (money in) and which a debit
    credit_marks: list[str] = Spec(default_factory=lambda: ["贷", "C"])
    debit_marks: list[str] = Spec(default_factory=lambda: ["借", "D"])
    #: a first line naming the columns, skipped (and checked to be there) before the head
    column_titles: bool = False


def _check(layout: StatementLayout, where: str) -> StatementLayout:
    codecs.lookup(layout.encoding)
    need = {"account", "opening", "closing"} - set(layout.head)
    if need:
        raise ConfigurationError(f"{where}: the head must name {', '.join(sorted(need))}")
    cols = set(layout.detail)
    if "booked" not in cols or not ({"debit", "credit"} <= cols or {"amount", "direction"} <= cols):
        raise ConfigurationError(
            f"{where}: the detail needs booked and either debit+credit or amount+direction"
        )
    return layout


@cache
def load_statement_layout(source: str) -> StatementLayout:
    """A shipped statement layout by name (``icbc-statement``) or a TOML file by path."""
    if source.endswith(".toml"):
        try:
            text, where = Path(source).read_text("utf-8"), source
        except OSError as exc:
            raise ConfigurationError(f"cannot read layout {source}: {exc.strerror}") from None
    else:
        res = files("paychannels.bankfiles").joinpath(f"data/statement-{source}.toml")
        if not res.is_file():
            raise ConfigurationError(f"no statement layout {source!r} (shipped: icbc, ccb)")
        text, where = res.read_text("utf-8"), f"statement layout {source}"
    return _check(read(StatementLayout, text, source=where, fail=configuration_error), where)


def read_statement_text(
    path: Path, layout: StatementLayout
) -> Iterator[StatementHead | StatementLine]:
    """The head and the bookings of one export; ``BankFileError`` naming line and column."""
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below; lines are yielded lazily
    except OSError as exc:
        raise BankFileError(path, f"cannot read: {exc.strerror or exc}") from None
    with fh:
        reader = _Text(path, layout)
        for number, raw in enumerate(fh, start=1):
            item = reader.line(number, raw)
            if item is not None:
                yield item
        if reader.head is None:
            raise BankFileError(path, "no head line: this is not a statement export")


class _Text:
    """One export being read: its head once seen, then lines."""

    def __init__(self, path: Path, layout: StatementLayout) -> None:
        self.path, self.layout = path, layout
        self.head: StatementHead | None = None
        self.titles_seen = not layout.column_titles

    def line(self, number: int, raw: bytes) -> StatementHead | StatementLine | None:
        raw = raw.rstrip(b"\r\n")
        if not raw.strip():
            return None
        if b"\x00" in raw:
            raise BankFileError(self.path, "a NUL byte", line=number)
        try:
            text = raw.decode(self.layout.encoding)
        except UnicodeDecodeError as exc:
            raise BankFileError(
                self.path, f"not {self.layout.encoding} text (byte {exc.start + 1})", line=number
            ) from None
        if not self.titles_seen:
            self.titles_seen = True
            return None
        cells = [c.strip() for c in text.split(self.layout.delimiter)]
        if self.head is None:
            self.head = self._head(number, self._fit(number, cells, self.layout.head))
            return self.head
        return self._booking(number, self._fit(number, cells, self.layout.detail))

    def _fit(self, number: int, cells: list[str], roles: Sequence[str]) -> dict[str, str]:
        if len(cells) != len(roles):
            raise BankFileError(
                self.path, f"{len(cells)} columns, the layout has {len(roles)}", line=number
            )
        return {role: cell for role, cell in zip(roles, cells, strict=True) if role != "skip"}

    def _head(self, number: int, v: dict[str, str]) -> StatementHead:
        code = v.get("currency") or "CNY"
        try:
            currency(code)
        except UnknownCurrency:
            raise BankFileError(
                self.path, f"unknown currency {code[:8]!r}", line=number, where="currency"
            ) from None
        return StatementHead(
            file=self.path.name,
            statement_id=v.get("id", ""),
            account=v["account"],
            currency=code,
            from_day=self._day(number, v, "from"),
            to_day=self._day(number, v, "to"),
            opening_minor=self._minor(number, v["opening"], "opening", signed=True),
            closing_minor=self._minor(number, v["closing"], "closing", signed=True),
            line=number,
        )

    def _booking(self, number: int, v: dict[str, str]) -> StatementLine:
        assert self.head is not None
        if "direction" in v:
            mark = v["direction"]
            if mark not in (*self.layout.credit_marks, *self.layout.debit_marks):
                raise BankFileError(
                    self.path, f"direction {mark[:8]!r} is neither", line=number, where="direction"
                )
            credit = mark in self.layout.credit_marks
            minor = self._minor(number, v["amount"], "amount")
        else:
            cr = self._minor(number, v["credit"], "credit") if v["credit"] else 0
            dr = self._minor(number, v["debit"], "debit") if v["debit"] else 0
            if bool(cr) == bool(dr):
                raise BankFileError(
                    self.path, "exactly one of debit and credit must hold an amount", line=number
                )
            credit, minor = bool(cr), cr or dr
        booked = self._day(number, v, "booked")
        assert booked is not None
        refs = tuple(r for r in (v.get("bank_ref"), v.get("ref")) if r)
        return StatementLine(
            file=self.path.name,
            line=number,
            statement_id=self.head.statement_id,
            credit=credit,
            minor=minor,
            currency=self.head.currency,
            booked=booked,
            value=self._day(number, v, "value"),
            refs=refs,
            text="; ".join(t for t in (v.get("ref"), v.get("text")) if t)[:200],
            bank_ref=v.get("bank_ref", ""),
        )

    def _day(self, number: int, v: dict[str, str], role: str) -> date | None:
        text = v.get(role)
        if not text:
            if role == "booked":
                raise BankFileError(self.path, "no booking day", line=number, where=role)
            return None
        try:
            if not text.isascii():  # strptime would read full-width digits as digits
                raise ValueError(text)
            return datetime.strptime(text, self.layout.date_format).date()
        except ValueError:
            raise BankFileError(
                self.path,
                f"{text[:20]!r} is not a date ({self.layout.date_format})",
                line=number,
                where=role,
            ) from None

    def _minor(self, number: int, text: str, role: str, *, signed: bool = False) -> int:
        body = text.replace(",", "")
        negative = signed and body.startswith("-")
        body = body[1:] if negative else body
        whole, dot, frac = body.partition(".")
        ok = whole.isascii() and whole.isdigit() and len(whole) <= 16
        if self.layout.amount_unit == "fen":
            ok = ok and not dot
            value = int(whole) if ok else 0
        else:
            ok = ok and (not dot or (frac.isascii() and frac.isdigit() and len(frac) <= 2))
            value = int(whole) * 100 + int(frac.ljust(2, "0") or "0") if ok else 0
        if not ok:
            raise BankFileError(
                self.path,
                f"{text[:24]!r} is not an amount in {self.layout.amount_unit}",
                line=number,
                where=role,
            )
        return -value if negative else value
