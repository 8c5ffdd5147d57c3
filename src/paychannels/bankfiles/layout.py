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
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from paychannels.errors import ConfigurationError

__all__ = ["Field", "Layout", "Record", "available_layouts", "load_layout"]

REQUEST_SOURCES = frozenset(
    {
        "row",
        "serial",
        "account",
        "name",
        "amount",
        "payer_id",
        "bank",
        "mandate_id",
        "mandate_date",
        "collection_date",
        "remittance",
        "currency",
        "const",
    }
)
RESULT_SOURCES = REQUEST_SOURCES | {"taken", "flag", "code", "message"}
SUMMARY_SOURCES = frozenset(
    {
        "const",
        "count",
        "total",
        "msg_id",
        "date",
        "created",
        "creditor_account",
        "creditor_name",
        "ok_count",
        "taken_total",
    }
)
NUMERIC = frozenset({"row", "amount", "taken", "count", "total", "ok_count", "taken_total"})
OUTCOMES = frozenset({"succeeded", "partial", "failed", "pending"})
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


def _fields(raw: Any, where: str, sources: frozenset[str], fixed: bool) -> tuple[Field, ...]:
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"{where} must be a non-empty list of fields")
    out = []
    for i, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            raise ValueError(f"{where}[{i}] must be a table")
        try:
            field = Field(**item)
        except TypeError as exc:
            raise ValueError(f"{where}[{i}]: {exc}") from None
        label = f"{where}[{i}] ({field.name})"
        if field.source not in sources:
            raise ValueError(f"{label}: source {field.source!r} is not one of {sorted(sources)}")
        if fixed and field.width <= 0:
            raise ValueError(f"{label}: fixed-width fields need a width in bytes")
        if field.align not in ("left", "right") or len(field.fill.encode()) != 1:
            raise ValueError(f"{label}: align must be left/right, fill one ASCII character")
        if (
            field.source == "const"
            and field.width
            and len(field.value.encode("gb18030")) > field.width
        ):
            raise ValueError(f"{label}: constant {field.value!r} is wider than {field.width} bytes")
        out.append(field)
    return tuple(out)


def _record(raw: Any, where: str, sources: frozenset[str], fixed: bool) -> Record:
    if not isinstance(raw, dict):
        raise ValueError(f"[{where}] is missing")
    unknown = set(raw) - {"detail", "header", "trailer", "leading_blank_line"}
    if unknown:
        raise ValueError(f"[{where}]: unknown keys {sorted(unknown)}")
    return Record(
        detail=_fields(raw.get("detail"), f"{where}.detail", sources, fixed),
        header=_fields(raw["header"], f"{where}.header", SUMMARY_SOURCES, fixed)
        if "header" in raw
        else (),
        trailer=_fields(raw["trailer"], f"{where}.trailer", SUMMARY_SOURCES, fixed)
        if "trailer" in raw
        else (),
        leading_blank_line=bool(raw.get("leading_blank_line", False)),
    )


def _build(data: dict[str, Any]) -> Layout:
    kind = data.get("kind")
    if kind not in ("fixed", "delimited"):
        raise ValueError("kind must be 'fixed' or 'delimited'")
    fixed = kind == "fixed"
    encoding = str(data.get("encoding", "gb18030")).lower()
    if codecs.lookup(encoding).name not in ("gbk", "gb18030", "utf-8"):
        raise ValueError(f"encoding {encoding!r}: use gbk, gb18030 or utf-8")
    ending = {"crlf": "\r\n", "lf": "\n"}.get(str(data.get("line_ending", "crlf")))
    if ending is None:
        raise ValueError("line_ending must be 'crlf' or 'lf'")
    delimiter = str(data.get("delimiter", ""))
    if not fixed and (len(delimiter) != 1 or delimiter.isalnum()):
        raise ValueError("a delimited layout needs a one-character delimiter such as '|'")
    unit = data.get("amount_unit", "fen")
    if unit not in ("fen", "yuan"):
        raise ValueError("amount_unit must be 'fen' or 'yuan'")
    flags = (
        data.get("result", {}).pop("flags", None) if isinstance(data.get("result"), dict) else None
    )
    if not isinstance(flags, dict) or not flags or set(flags.values()) - OUTCOMES:
        raise ValueError(f"[result.flags] must map the bank's flags to {sorted(OUTCOMES)}")
    layout = Layout(
        name=str(data["name"]),
        title=str(data.get("title", data["name"])),
        kind=kind,
        encoding=encoding,
        delimiter=delimiter,
        line_ending=ending,
        amount_unit=unit,
        rows_per_file=int(data.get("rows_per_file", 0)),
        file_name=str(data.get("file_name", "{msg_id}.txt")),
        result_name=str(data.get("result_name", "{msg_id}_RET.txt")),
        request=_record(data.get("request"), "request", REQUEST_SOURCES, fixed),
        result=_record(data.get("result"), "result", RESULT_SOURCES, fixed),
        flags={str(k): str(v) for k, v in flags.items()},
        currency=str(data.get("currency", "CNY")),
    )
    serials = [f for f in layout.request.detail if f.source == "serial"]
    if len(serials) != 1 or (fixed and serials[0].width < _SERIAL_MIN):
        raise ValueError(
            f"the request needs exactly one 'serial' field at least {_SERIAL_MIN} bytes wide "
            "(our end-to-end id, so every result row leads back to its debit)"
        )
    if not any(f.source == "serial" for f in layout.result.detail):
        raise ValueError("the result detail needs the 'serial' field")
    if not any(f.source == "flag" for f in layout.result.detail):
        raise ValueError("the result detail needs a 'flag' field (the bank's outcome)")
    for name in ("file_name", "result_name"):
        if "{msg_id}" not in getattr(layout, name):
            raise ValueError(f"{name} must contain {{msg_id}}")
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
    try:
        return _build(tomllib.loads(text))
    except (ValueError, KeyError, TypeError, tomllib.TOMLDecodeError, LookupError) as exc:
        raise ConfigurationError(f"{where}: {exc}") from None


@cache
def available_layouts() -> tuple[str, ...]:
    """The names of the layouts shipped with the library."""
    folder = files("paychannels.bankfiles").joinpath("layouts")
    return tuple(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml")))
