"""Channel settings from three places, read one way for WeChat Pay, Alipay and nexo.

The URL carries no secrets; keyword options and a TOML config file (``config="/etc/..."``,
its ``[section]`` table or top level) carry the keys. Keyword options win over the file, the
file over the URL. Each channel declares a ``ChannelSettings`` model (strict types,
unknown keys refused, keys as ``SecretStr``); ``gather`` merges the three places and
validates once. A mistake names where it is: the file's line and key, the option, or the
URL's option. No value is ever echoed, since many are keys.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    SecretStr,
    TypeAdapter,
    ValidationError,
)

from paychannels.values.configfile import (
    Between,
    FileModel,
    KeyLines,
    configuration_error,
    error_text,
    first_error,
    parse_toml,
    raise_at,
)
from paychannels.values.errors import ConfigurationError
from paychannels.values.urls import ParsedURL

__all__ = ["LOWERED", "ChannelSettings", "ProviderSettings", "Settings", "gather", "matching"]

S = TypeVar("S", bound="ChannelSettings")
Origin = Literal["url", "file", "option"]


class ChannelSettings(FileModel):
    """A channel's settings from URL, options and a config file; ``gather`` reads them."""

    #: the settings that may stand in the channel URL (never a key)
    URL_NAMES: ClassVar[frozenset[str]] = frozenset()


class ProviderSettings(ChannelSettings):
    """What every payment provider channel takes; each provider adds its ids and keys."""

    URL_NAMES: ClassVar[frozenset[str]] = frozenset({"notify_url", "expire_minutes", "timeout"})

    notify_url: str | None = None
    expire_minutes: Annotated[int, Between(1, 43200)] = 120
    timeout: Annotated[float, Between(0.1, 600)] = 10.0


def matching(pattern: str, what: str) -> AfterValidator:
    """Text that must match ``pattern``; the error says what it must be, never what it was."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.match(value):
            raise ValueError(f"must be {what}")
        return value

    return AfterValidator(check)


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


#: a choice written in any case (``NATIVE`` is ``native``)
LOWERED = BeforeValidator(_lower)


@dataclass(frozen=True, slots=True)
class Settings(Generic[S]):
    """Merged, checked settings and where relative key paths are anchored."""

    values: S
    base: Path
    source: str

    def key_material(self, name: str) -> str | Path | None:
        """A key given inline (PEM/base64) or as a path, resolved against the config file."""
        value = getattr(self.values, name)
        if value is None:
            return None
        return self.material(value.get_secret_value() if isinstance(value, SecretStr) else value)

    def material(self, value: str) -> str | Path:
        """Inline PEM text stays text; anything else that names a file is that file."""
        if "-----BEGIN" in value or "\n" in value.strip():
            return value
        candidate = Path(value)
        if not candidate.is_absolute():
            candidate = self.base / candidate
        return candidate if candidate.exists() else value


def gather(
    parsed: ParsedURL,
    options: Mapping[str, Any],
    model: type[S],
    *,
    section: str,
    form: str,
) -> Settings[S]:
    """Merge URL query, config file (its ``[section]`` table or top level) and options."""
    parsed.check_options(set(model.URL_NAMES), form)
    names = set(model.model_fields)
    unknown = sorted(set(options) - names - {"config"})
    if unknown:
        known = ", ".join(sorted(names | {"config"}))
        raise ConfigurationError(
            f"{parsed.scheme} channel: unknown option(s) {', '.join(unknown)}; known: {known}"
        )
    values: dict[str, Any] = {k: _from_url(model, k, v, parsed) for k, v in parsed.query.items()}
    origin: dict[str, Origin] = dict.fromkeys(values, "url")
    base, lines, where = Path.cwd(), KeyLines(""), f"{parsed.scheme} channel"
    root: tuple[str, ...] = ()
    config = options.get("config")
    if config is not None:
        path = Path(config)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not UTF-8 text"
            raise ConfigurationError(f"config file {path}: {reason}") from None
        data = parse_toml(text, str(path), configuration_error)
        lines, where, base = KeyLines(text), str(path), path.resolve().parent
        table = data.get(section, data)
        root = (section,) if section in data else ()
        if not isinstance(table, dict):
            raise_at(lines, where, root, f"[{section}] must be a table", configuration_error)
        stray = sorted(k for k, v in data.items() if root and not isinstance(v, dict))
        if stray:  # beside [section] it would be ignored (other tables: other channels')
            raise_at(lines, where, (stray[0],), f"unknown key {stray[0]!r}", configuration_error)
        values.update(table)
        origin.update(dict.fromkeys(table, "file"))
    for name, value in options.items():
        if name != "config":
            values[name] = _from_option(value)
            origin[name] = "option"
    try:
        checked = model.model_validate(values)
    except ValidationError as exc:
        error = first_error(exc)
        key = ".".join(str(p) for p in error["loc"] if p != "[key]") or "(top)"
        message = error_text(error, key)
        came = origin.get(
            str(error["loc"][0]) if error["loc"] else "", "file" if config else "option"
        )
        if came == "file" and config is not None:
            loc = (*root, *(str(p) for p in error["loc"] if p != "[key]"))
            raise_at(lines, where, loc, message, configuration_error)
        raise ConfigurationError(f"{parsed.scheme} channel {came}: {message}") from None
    return Settings(checked, base, where if config is not None else f"{parsed.scheme} channel")


def _from_url(model: type[BaseModel], name: str, text: str, parsed: ParsedURL) -> Any:
    """A URL option is text: read it as its setting's type (``timeout=5`` is a number)."""
    field = model.model_fields.get(name)
    kind = field.annotation if field is not None else None
    if kind not in (int, float, bool):
        return text  # text settings (choices included) are checked by the model itself
    try:
        return TypeAdapter(kind).validate_python(text, strict=False)
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        raise ConfigurationError(
            f"{parsed.scheme} channel URL: {error_text(error, name)}"
        ) from None


def _from_option(value: Any) -> Any:
    """Paths given as ``Path`` are text like paths written in a file."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, list | tuple):
        return [str(v) if isinstance(v, Path) else v for v in value]
    return value
