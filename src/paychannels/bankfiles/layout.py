"""Chinese banks' batch-deduction (批量代扣) text files, described as data.

No two banks agree: pipe-delimited or fixed-width, GBK or GB18030, a header line, a totals
line (汇总), amounts in fen or in yuan. A ``Layout`` says all of that in a TOML file —
fields, widths in BYTES (a Chinese character is two bytes in GBK, a rare one four in
GB18030), padding, where each value comes from — for the request file (报盘) and the bank's
result file (回盘). The shipped layouts live in ``bankfiles/layouts/``; a bank not shipped is
one more TOML file, no code. ``load_layout`` checks a layout thoroughly before it is used.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Literal, NoReturn

from pydantic import AfterValidator, StringConstraints
from pydantic import Field as Spec

from paychannels.values.configfile import FileModel, KeyLines, configuration_error, raise_at, read
from paychannels.values.errors import ConfigurationError

__all__ = ["Field", "Layout", "LayoutFile", "Record", "available_layouts", "load_layout"]

NUMERIC = frozenset({"row", "amount", "taken", "count", "total", "ok_count", "taken_total"})
_SERIAL_MIN = 28  # an end-to-end id of ours: 26 characters, '-', the attempt


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a line: where its value comes from and how it is laid out."""

    name: str
    source: str
    width: int = 0  # bytes; required for fixed-width, an upper bound for delimited
    align: str = "left"
    fill: str = " "
    value: str = ""  # for source = "const"
    required: bool = True
    truncate: bool = False  # only free text (remittance) may be cut, at a character boundary
    date_format: str = "%Y%m%d"


@dataclass(frozen=True, slots=True)
class Record:
    """The lines of one file kind: optional header, the detail line, optional trailer."""

    detail: tuple[Field, ...]
    header: tuple[Field, ...] = ()
    trailer: tuple[Field, ...] = ()
    leading_blank_line: bool = False


@dataclass(frozen=True, slots=True)
class Layout:
    """A bank's batch-deduction file formats (request and result), as a TOML file says."""

    name: str
    title: str
    kind: str  # "fixed" or "delimited"
    encoding: str
    delimiter: str
    line_ending: str
    amount_unit: str  # "fen" or "yuan"
    rows_per_file: int
    file_name: str
    result_name: str
    request: Record
    result: Record
    flags: dict[str, str]
    currency: str = "CNY"

    def serial_field(self) -> Field:
        """The request field that carries our serial (the end-to-end id)."""
        return next(f for f in self.request.detail if f.source == "serial")

    def result_regex(self) -> re.Pattern[str]:
        """Recognises a result file's name and captures the message id it answers."""
        head, _, tail = self.result_name.partition("{msg_id}")
        return re.compile(f"^{re.escape(head)}(?P<msg_id>[A-Za-z0-9-]{{1,35}}){re.escape(tail)}$")


_Width = Annotated[int, Spec(ge=0, le=10_000)]
_RequestSource = Literal[
    "row", "serial", "account", "name", "amount", "payer_id", "bank", "mandate_id",
    "mandate_date", "collection_date", "remittance", "currency", "const",
]  # fmt: skip
_ResultSource = Literal[_RequestSource, "taken", "flag", "code", "message"]
_SummarySource = Literal[
    "const", "count", "total", "msg_id", "date", "created", "creditor_account",
    "creditor_name", "ok_count", "taken_total",
]  # fmt: skip


def _one_ascii(fill: str) -> str:
    if len(fill.encode()) != 1:
        raise ValueError("must be one ASCII character")
    return fill


class _FieldModel(FileModel):
    """One field of a line in a layout file (``{ name = ..., source = ..., width = ... }``)."""

    name: str
    source: str
    width: _Width = 0
    align: Literal["left", "right"] = "left"
    fill: Annotated[str, AfterValidator(_one_ascii)] = " "
    value: str = ""
    required: bool = True
    truncate: bool = False
    date_format: str = "%Y%m%d"


class RequestField(_FieldModel):
    """A field of the request file's detail line."""

    source: _RequestSource


class ResultField(_FieldModel):
    """A field of the result file's detail line."""

    source: _ResultSource


class SummaryField(_FieldModel):
    """A field of a header or totals (汇总) line."""

    source: _SummarySource


class RequestRecord(FileModel):
    """``[request]``: the request file's lines."""

    detail: Annotated[list[RequestField], Spec(min_length=1)]
    header: list[SummaryField] = Spec(default_factory=list)
    trailer: list[SummaryField] = Spec(default_factory=list)
    leading_blank_line: bool = False


class ResultRecord(FileModel):
    """``[result]``: the result file's lines and what the bank's flags mean."""

    detail: Annotated[list[ResultField], Spec(min_length=1)]
    header: list[SummaryField] = Spec(default_factory=list)
    trailer: list[SummaryField] = Spec(default_factory=list)
    leading_blank_line: bool = False
    flags: Annotated[
        dict[str, Literal["succeeded", "partial", "failed", "pending"]], Spec(min_length=1)
    ]


class LayoutFile(FileModel):
    """A bank layout file, as written (checked further by ``load_layout``)."""

    name: str
    title: str | None = None
    kind: Literal["fixed", "delimited"]
    encoding: str = "gb18030"
    delimiter: str = ""
    line_ending: Literal["crlf", "lf"] = "crlf"
    amount_unit: Literal["fen", "yuan"] = "fen"
    rows_per_file: Annotated[int, Spec(ge=0)] = 0
    file_name: str = "{msg_id}.txt"
    result_name: str = "{msg_id}_RET.txt"
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "CNY"
    request: RequestRecord
    result: ResultRecord


class _Checker:
    """The checks across keys, each naming the line of what it is about."""

    def __init__(self, text: str, where: str) -> None:
        self.lines = KeyLines(text)
        self.where = where

    def fail(self, loc: tuple[str | int, ...], message: str) -> NoReturn:
        raise_at(self.lines, self.where, loc, message, configuration_error)

    def fields(
        self,
        items: list[RequestField] | list[ResultField] | list[SummaryField],
        loc: str,
        fixed: bool,
    ) -> tuple[Field, ...]:
        out = []
        for i, item in enumerate(items):
            label = f"{loc}.{i} ({item.name})"
            here: tuple[str | int, ...] = (*loc.split("."), i)
            if fixed and item.width <= 0:
                self.fail((*here, "width"), f"{label}: fixed-width fields need a width in bytes")
            if (
                item.source == "const"
                and item.width
                and len(item.value.encode("gb18030")) > item.width
            ):
                self.fail(
                    (*here, "value"),
                    f"{label}: constant {item.value!r} is wider than {item.width} bytes",
                )
            out.append(Field(**item.model_dump()))
        return tuple(out)

    def record(self, raw: RequestRecord | ResultRecord, loc: str, fixed: bool) -> Record:
        return Record(
            detail=self.fields(raw.detail, f"{loc}.detail", fixed),
            header=self.fields(raw.header, f"{loc}.header", fixed),
            trailer=self.fields(raw.trailer, f"{loc}.trailer", fixed),
            leading_blank_line=raw.leading_blank_line,
        )


def _build(text: str, where: str) -> Layout:
    data = read(LayoutFile, text, source=where, fail=configuration_error)
    check = _Checker(text, where)
    fixed = data.kind == "fixed"
    encoding = data.encoding.lower()
    try:
        known = codecs.lookup(encoding).name
    except LookupError:
        known = ""
    if known not in ("gbk", "gb18030", "utf-8"):
        check.fail(("encoding",), f"encoding {encoding!r}: use gbk, gb18030 or utf-8")
    if not fixed and (len(data.delimiter) != 1 or data.delimiter.isalnum()):
        check.fail(("delimiter",), "a delimited layout needs a one-character delimiter such as '|'")
    layout = Layout(
        name=data.name,
        title=data.title if data.title is not None else data.name,
        kind=data.kind,
        encoding=encoding,
        delimiter=data.delimiter,
        line_ending={"crlf": "\r\n", "lf": "\n"}[data.line_ending],
        amount_unit=data.amount_unit,
        rows_per_file=data.rows_per_file,
        file_name=data.file_name,
        result_name=data.result_name,
        request=check.record(data.request, "request", fixed),
        result=check.record(data.result, "result", fixed),
        flags=dict(data.result.flags),
        currency=data.currency,
    )
    serials = [i for i, f in enumerate(layout.request.detail) if f.source == "serial"]
    if len(serials) != 1 or (fixed and layout.request.detail[serials[0]].width < _SERIAL_MIN):
        check.fail(
            ("request", "detail", *serials[:1]),
            f"the request needs exactly one 'serial' field at least {_SERIAL_MIN} bytes wide "
            "(our end-to-end id, so every result row leads back to its debit)",
        )
    if not any(f.source == "serial" for f in layout.result.detail):
        check.fail(("result", "detail"), "the result detail needs the 'serial' field")
    if not any(f.source == "flag" for f in layout.result.detail):
        check.fail(
            ("result", "detail"), "the result detail needs a 'flag' field (the bank's outcome)"
        )
    for name in ("file_name", "result_name"):
        if "{msg_id}" not in getattr(layout, name):
            check.fail((name,), f"{name} must contain {{msg_id}}")
    return layout


def load_layout(source: str | Path) -> Layout:
    """A shipped layout by name (``icbc-fixed``) or a TOML file by path, checked."""
    path = Path(source)
    if path.suffix != ".toml":
        shipped = files("paychannels.bankfiles").joinpath(f"layouts/{source}.toml")
        if not shipped.is_file():
            known = ", ".join(available_layouts()) or "none"
            raise ConfigurationError(f"no bank layout {source!r}; shipped layouts: {known}")
        text, where = shipped.read_text("utf-8"), f"layout {source}"
    else:
        try:
            text, where = path.read_text("utf-8"), str(path)
        except OSError as exc:
            raise ConfigurationError(f"cannot read layout {path}: {exc.strerror}") from None
    return _build(text, where)


@cache
def available_layouts() -> tuple[str, ...]:
    """The names of the layouts shipped with the library."""
    folder = files("paychannels.bankfiles").joinpath("layouts")
    return tuple(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml")))
