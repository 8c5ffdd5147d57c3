"""Writing and reading the lines of a declarative ``Layout`` (Chinese batch-deduction files).

One engine for every layout and both directions: ``write_lines`` lays values out field by
field (encoded first, then measured and padded in BYTES; a name never cut, only free text
marked ``truncate``), ``read_lines`` splits lines back into values, streaming, and names the
line and field of anything wrong. Which line is a header or a totals line comes from the
layout: the first and the last non-blank line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any, Literal

from paychannels.bankfiles.checks import format_minor
from paychannels.bankfiles.errors import BankFileError
from paychannels.bankfiles.layout import NUMERIC, Field, Layout, Record

__all__ = ["LineKind", "LineWriter", "read_lines"]

LineKind = Literal["header", "detail", "trailer"]
_AMOUNTS = frozenset({"amount", "taken", "total", "taken_total"})
_DATES = frozenset({"collection_date", "mandate_date", "date", "created"})


class _Problem(ValueError):
    pass


class LineWriter:
    """Writes lines of one record kind of a layout to a binary stream, hashing nothing."""

    def __init__(self, out: IO[bytes], layout: Layout, record: Record, *, name: str) -> None:
        self.out = out
        self.layout = layout
        self.record = record
        self.name = name
        self.line = 0
        self._ending = layout.line_ending.encode("ascii")
        if record.leading_blank_line:
            self._put(b"")

    def _put(self, data: bytes) -> None:
        self.out.write(data + self._ending)
        self.line += 1

    def write(self, kind: LineKind, values: Mapping[str, Any]) -> None:
        """One line: ``values`` maps field sources (``account``, ``amount``...) to values."""
        fields = getattr(self.record, kind)
        parts: list[bytes] = []
        for field in fields:
            try:
                parts.append(self._field(field, values))
            except _Problem as exc:
                raise BankFileError(
                    self.name, f"cannot write: {exc}", line=self.line + 1, where=field.name
                ) from None
        sep = self.layout.delimiter.encode("ascii") if self.layout.kind == "delimited" else b""
        self._put(sep.join(parts))

    def _text(self, field: Field, value: Any) -> str:
        if field.source == "const":
            return field.value
        if value is None or value == "":
            if field.required:
                raise _Problem(f"{field.source} is missing")
            return ""
        if field.source in _AMOUNTS:
            if type(value) is not int or value < 0:
                raise _Problem(f"{field.source} must be non-negative integer fen, not {value!r}")
            return str(value) if self.layout.amount_unit == "fen" else format_minor(value, 2)
        if field.source in NUMERIC:
            return str(int(value))
        if field.source in _DATES:
            if not isinstance(value, date):
                raise _Problem(f"{field.source} must be a date")
            return value.strftime(field.date_format)
        text = str(value)
        if not text.isprintable() or (self.layout.delimiter and self.layout.delimiter in text):
            raise _Problem(f"{field.source} holds a control character or the delimiter")
        return text

    def _field(self, field: Field, values: Mapping[str, Any]) -> bytes:
        text = self._text(field, values.get(field.source))
        try:
            data = text.encode(self.layout.encoding)
        except UnicodeEncodeError as exc:
            raise _Problem(
                f"{text[exc.start : exc.end]!r} cannot be written in {self.layout.encoding}"
            ) from None
        if field.width and len(data) > field.width:
            if not field.truncate:
                raise _Problem(f"{len(data)} bytes, the field holds {field.width}")
            data = _cut(text, field.width, self.layout.encoding)
        if self.layout.kind == "fixed":
            pad = field.fill.encode("ascii") * (field.width - len(data))
            data = pad + data if field.align == "right" else data + pad
        return data


def _cut(text: str, width: int, encoding: str) -> bytes:
    """The longest prefix of ``text`` that fits ``width`` bytes, never half a character."""
    out = b""
    for char in text:
        more = char.encode(encoding)
        if len(out) + len(more) > width:
            break
        out += more
    return out


def _split(
    path: Path, layout: Layout, fields: tuple[Field, ...], raw: bytes, line: int
) -> list[str]:
    """The field texts of one line, padding removed."""
    decode = "gb18030" if layout.encoding == "gbk" else layout.encoding
    if layout.kind == "delimited":
        try:
            text = raw.decode(decode)
        except UnicodeDecodeError as exc:
            raise BankFileError(
                path, f"not {layout.encoding} at byte {exc.start + 1}", line=line
            ) from None
        parts = text.split(layout.delimiter)
        if len(parts) != len(fields):
            raise BankFileError(
                path, f"{len(parts)} fields, the layout {layout.name} has {len(fields)}", line=line
            )
        return [p.strip() for p in parts]
    expected = sum(f.width for f in fields)
    if len(raw) != expected:
        raise BankFileError(
            path, f"{len(raw)} bytes, the layout {layout.name} expects {expected}", line=line
        )
    out: list[str] = []
    at = 0
    for field in fields:
        chunk = raw[at : at + field.width]
        at += field.width
        try:
            text = chunk.decode(decode)
        except UnicodeDecodeError:
            raise BankFileError(
                path,
                f"not {layout.encoding} (or a character cut in two)",
                line=line,
                where=field.name,
            ) from None
        text = text.lstrip(field.fill) if field.align == "right" else text.rstrip(field.fill)
        if field.align == "right" and field.fill == "0" and not text and chunk:
            text = "0"
        out.append(text.strip())
    return out


def _value(path: Path, layout: Layout, field: Field, text: str, line: int) -> Any:
    if field.source == "const":
        if text != field.value.strip():
            raise BankFileError(
                path, f"expected {field.value!r}, found {text!r}", line=line, where=field.name
            )
        return text
    if not text:
        if field.required:
            raise BankFileError(path, f"{field.source} is empty", line=line, where=field.name)
        return None
    if field.source in _AMOUNTS:
        return _amount(path, layout, field, text, line)
    if field.source in NUMERIC:
        if not _digits(text):
            raise BankFileError(path, f"{text!r} is not a number", line=line, where=field.name)
        return int(text)
    if field.source in _DATES:
        try:
            return datetime.strptime(text, field.date_format).date()
        except ValueError:
            raise BankFileError(
                path, f"{text!r} is not a date", line=line, where=field.name
            ) from None
    return text


def _digits(text: str) -> bool:
    """ASCII digits, at most 18: ``str.isdigit`` also takes '３', '٣' and '²' (which ``int``
    then reads as 3, or refuses), and a bank file's numbers are never those."""
    return text.isascii() and text.isdigit() and len(text.lstrip("0")) <= 18


def _amount(path: Path, layout: Layout, field: Field, text: str, line: int) -> int:
    if layout.amount_unit == "fen":
        if _digits(text):
            return int(text)
    else:
        whole, dot, frac = text.partition(".")
        if _digits(whole) and (not dot or (_digits(frac) and len(frac) <= 2)):
            return int(whole) * 100 + int(frac.ljust(2, "0") or "0")
    raise BankFileError(
        path, f"{text!r} is not an amount in {layout.amount_unit}", line=line, where=field.name
    )


def read_lines(
    path: Path, layout: Layout, record: Record
) -> Iterator[tuple[LineKind, int, dict[str, Any]]]:
    """``(kind, line number, {source: value})`` for each line, streaming; ``BankFileError``
    names the line and field of anything that does not fit the layout."""
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below; lines are yielded lazily
    except OSError as exc:
        raise BankFileError(path, f"cannot read: {exc.strerror or exc}") from None
    with fh:
        yield from _classify(path, layout, record, _lines(path, layout, fh))


def _lines(path: Path, layout: Layout, fh: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    ending = layout.line_ending.encode("ascii")
    for number, raw in enumerate(fh, start=1):
        if raw.endswith(b"\n"):
            if not raw.endswith(ending):
                raise BankFileError(path, "wrong line ending for this layout", line=number)
            raw = raw[: -len(ending)]
        if b"\r" in raw or b"\x00" in raw:
            raise BankFileError(path, "stray carriage return or NUL byte", line=number)
        yield number, raw


def _classify(
    path: Path, layout: Layout, record: Record, lines: Iterator[tuple[int, bytes]]
) -> Iterator[tuple[LineKind, int, dict[str, Any]]]:
    pending: tuple[int, bytes] | None = None
    seen_header = not record.header
    first = True
    for number, raw in lines:
        if first and record.leading_blank_line:
            first = False
            if raw.strip():
                raise BankFileError(path, "the layout starts with a blank line", line=number)
            continue
        first = False
        if not raw.strip():
            continue
        if not seen_header:
            seen_header = True
            yield "header", number, _parse(path, layout, record.header, raw, number)
            continue
        if pending is not None:
            yield "detail", pending[0], _parse(path, layout, record.detail, pending[1], pending[0])
        pending = (number, raw)
    if not seen_header:
        raise BankFileError(path, "the file is empty (no header line)")
    if pending is None:
        if record.trailer:
            raise BankFileError(path, "the totals line (汇总) is missing")
        return
    kind: LineKind = "trailer" if record.trailer else "detail"
    yield kind, pending[0], _parse(path, layout, getattr(record, kind), pending[1], pending[0])


def _parse(
    path: Path, layout: Layout, fields: tuple[Field, ...], raw: bytes, line: int
) -> dict[str, Any]:
    texts = _split(path, layout, fields, raw, line)
    return {f.source: _value(path, layout, f, t, line) for f, t in zip(fields, texts, strict=True)}
