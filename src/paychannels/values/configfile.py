"""Files a person writes, read one way: TOML into a strict pydantic model, errors naming file:line.

Profiles, bank layouts, the creditor, calendars and provider config files are each a
``FileModel``: unknown keys are refused (a typo is a mistake, not a comment), types are strict
(``1.0`` is not an integer, ``"no"`` is not a boolean), secrets are ``SecretStr``. ``read``
parses and validates; its error is the caller's own ``PaychannelsError`` class, its message
``file:line: key: what is wrong`` — ``KeyLines`` finds the line, since ``tomllib`` forgets it.
No message ever quotes what was written at a key (it may be a key or a password).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ValidationError,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import ErrorDetails, core_schema

from paychannels.values.errors import ConfigurationError

__all__ = [
    "Between",
    "FileModel",
    "KeyLines",
    "configuration_error",
    "error_text",
    "first_error",
    "parse_toml",
    "raise_at",
    "read",
    "validate",
]

M = TypeVar("M", bound=BaseModel)
#: builds the caller's typed error from ``where`` (``file:line``) and the message
Fail = Callable[[str, str], Exception]


class FileModel(BaseModel):
    """A table of a file a person writes: strict types, no unknown keys, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


@dataclass(frozen=True, slots=True)
class Between:
    """``Annotated[int, Between(0, 255)]``: "must be 0..255, not 256", and in the JSON Schema."""

    low: float
    high: float

    def check(self, value: float) -> float:
        if not self.low <= value <= self.high:
            raise ValueError(f"must be {self.low}..{self.high}, not {value}")
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        out = handler(schema)
        out.update(minimum=self.low, maximum=self.high)
        return out


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(
    r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*="""
)
_INLINE_KEY = re.compile(r"""(?:[{,]\s*)([A-Za-z0-9_-]+|"[^"]*")\s*=""")
_ARRAY_TABLE = re.compile(r"^\s*\[\[")


def _parts(dotted: str) -> tuple[str, ...]:
    out = []
    for part in re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", dotted):
        out.append(part[1:-1] if part[:1] in "\"'" else part)
    return tuple(out)


class KeyLines:
    """Line numbers (1-based) of the keys and tables of one TOML text.

    Scans table headers (``[verbs.sale]``), ``key = value`` lines (dotted keys too), keys of
    inline tables, and the inline tables of an array (``detail = [ { ... }, ... ]``, the n-th
    at ``detail.n``). A path not found exactly falls back to the first key inside it, else to
    its longest known prefix, so every error names some line.
    """

    def __init__(self, text: str) -> None:
        self._lines: dict[tuple[str, ...], int] = {}
        table: tuple[str, ...] = ()
        array: tuple[str, ...] | None = None  # the key of an open multi-line array
        items = 0
        for number, line in enumerate(text.splitlines(), start=1):
            header = _HEADER.match(line)
            if header and array is None:
                table = _parts(header.group(1))
                self._lines.setdefault(table, number)
                continue
            key = _KEY.match(line)
            if key:
                path = (*table, *_parts(key.group(1)))
                self._lines.setdefault(path, number)
                rest = line[key.end() :]
                array, items = (path, 0) if rest.strip().startswith("[") else (None, 0)
                self._inline(path, rest, number)
                if array is not None and "]" in rest.split("#", 1)[0].rstrip()[-1:]:
                    array = None
                continue
            if array is not None:
                stripped = line.split("#", 1)[0].strip()
                if stripped.startswith("{"):
                    self._lines.setdefault((*array, str(items)), number)
                    self._inline((*array, str(items)), stripped, number)
                    items += 1
                elif stripped and not stripped.startswith("]"):
                    for _ in range(stripped.rstrip("]").count(",") or 1):
                        self._lines.setdefault((*array, str(items)), number)
                        items += 1
                if stripped.startswith("]"):
                    array = None

    def _inline(self, path: tuple[str, ...], rest: str, number: int) -> None:
        if "{" in rest:
            for inner in _INLINE_KEY.finditer(rest):
                self._lines.setdefault((*path, *_parts(inner.group(1))), number)

    def line(self, *path: str | int) -> int | None:
        """The line of ``path`` (or of its longest known prefix); None for an empty file."""
        keys = tuple(str(p) for p in path if p != "[key]")
        while keys:
            if keys in self._lines:
                return self._lines[keys]
            inside = [n for k, n in self._lines.items() if k[: len(keys)] == keys]
            if inside:  # a table only written as [a.b] sub-tables: its first one
                return min(inside)
            keys = keys[:-1]
        return min(self._lines.values(), default=None)


def parse_toml(text: str, source: str, fail: Fail) -> dict[str, Any]:
    """TOML text as a dict; a syntax error names its line."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _line_in(str(exc))
        raise fail(f"{source}:{line}" if line else source, f"not TOML: {exc}") from None


def _line_in(message: str) -> int | None:
    found = re.search(r"line (\d+)", message)
    return int(found.group(1)) if found else None


def error_text(error: ErrorDetails, key: str) -> str:
    """What is wrong, in our words, never quoting the value (it may be a secret)."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return f"unknown key {key!r}"
    if kind == "missing":
        return f"{key} is required"
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
        return f"{key} must be one of {expected}"
    if kind == "value_error":
        return f"{key} {ctx.get('error', error['msg'])!s}"
    text = error["msg"].replace("Input should be", "must be")
    return f"{key} {text[0].lower()}{text[1:]}"


def first_error(exc: ValidationError) -> ErrorDetails:
    """The error to show: an unknown key first (a typo also makes its key "missing")."""
    errors = exc.errors(include_url=False, include_input=False)
    return min(errors, key=lambda e: e["type"] != "extra_forbidden")


def validate(
    model: type[M],
    data: Mapping[str, Any],
    *,
    lines: KeyLines,
    source: str,
    fail: Fail,
    root: tuple[str, ...] = (),
    explain: Callable[[ErrorDetails, str], str | None] | None = None,
) -> M:
    """``data`` as ``model``; the first error as ``fail(file:line, message)``."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = first_error(exc)
        loc = (*root, *(str(p) for p in error["loc"] if p != "[key]"))
        key = ".".join(loc) or "(top)"
        message = (explain(error, key) if explain else None) or error_text(error, key)
        raise_at(lines, source, loc, message, fail)


def raise_at(
    lines: KeyLines, source: str, loc: tuple[str | int, ...], message: str, fail: Fail
) -> NoReturn:
    """Raise ``fail`` with ``file:line`` of ``loc``."""
    line = lines.line(*loc)
    raise fail(f"{source}:{line}" if line else source, message)


def read(
    model: type[M],
    text: str,
    *,
    source: str,
    fail: Fail,
    table: str | None = None,
) -> M:
    """Parse TOML ``text`` and validate it (or its ``[table]``, if the file has one)."""
    data = parse_toml(text, source, fail)
    root: tuple[str, ...] = ()
    if table is not None and table in data:
        if not isinstance(data[table], dict):
            raise_at(KeyLines(text), source, (table,), f"[{table}] must be a table", fail)
        beside = sorted(set(data) - {table})
        if beside:  # a key outside [table] would be ignored: a mistake, not a comment
            raise_at(KeyLines(text), source, (beside[0],), f"unknown key {beside[0]!r}", fail)
        data, root = data[table], (table,)
    return validate(model, data, lines=KeyLines(text), source=source, fail=fail, root=root)


def configuration_error(where: str, message: str) -> Exception:
    """The plain ``ConfigurationError`` as a ``Fail``."""
    return ConfigurationError(f"{where}: {message}")
