"""Channel settings from three places: the URL (no secrets), keyword options, a config file.

A config file is TOML (``config="/etc/paychannels/wechatpay.toml"``); relative paths in it
are read relative to the file. Keyword options win over the file, the file over the URL.
Unknown names are refused with the list of known ones, and no value is ever echoed, since
many are keys.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paychannels.errors import ConfigurationError
from paychannels.urls import ParsedURL

__all__ = ["Settings", "gather"]


@dataclass(frozen=True, slots=True)
class Settings:
    """Merged settings with where relative key paths are anchored."""

    values: dict[str, Any]
    base: Path
    source: str

    def text(self, name: str, default: str | None = None) -> str | None:
        """A setting as text."""
        value = self.values.get(name, default)
        if value is None:
            return None
        if isinstance(value, Path):
            return str(value)
        if not isinstance(value, str):
            raise ConfigurationError(f"{self.source}: {name} must be text")
        return value

    def need(self, name: str) -> str:
        """A required setting as text."""
        value = self.text(name)
        if not value:
            raise ConfigurationError(f"{self.source}: {name} is required")
        return value

    def key_material(self, name: str) -> str | Path | None:
        """A key given inline (PEM/base64) or as a path, resolved against the config file."""
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, Path):
            return value if value.is_absolute() else self.base / value
        if not isinstance(value, str):
            raise ConfigurationError(f"{self.source}: {name} must be a PEM text or a path")
        if "-----BEGIN" in value or "\n" in value.strip():
            return value
        candidate = Path(value)
        if not candidate.is_absolute():
            candidate = self.base / candidate
        return candidate if candidate.exists() else value

    def key_list(self, name: str) -> list[str | Path]:
        """A list of keys or certificates (one value is a list of one)."""
        raw = self.values.get(name)
        if raw is None:
            return []
        items = raw if isinstance(raw, list | tuple) else [raw]
        out: list[str | Path] = []
        for i, item in enumerate(items):
            material = Settings({f"{name}[{i}]": item}, self.base, self.source).key_material(
                f"{name}[{i}]"
            )
            if material is not None:
                out.append(material)
        return out

    def number(self, name: str, default: float) -> float:
        """A setting that must be a number."""
        value = self.values.get(name, default)
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigurationError(f"{self.source}: {name} must be a number") from None


def gather(
    parsed: ParsedURL,
    options: Mapping[str, Any],
    *,
    url_names: set[str],
    option_names: set[str],
    section: str,
    form: str,
) -> Settings:
    """Merge URL query, config file (its ``[section]`` table or top level) and options."""
    parsed.check_options(url_names, form)
    unknown = sorted(set(options) - option_names - url_names - {"config"})
    if unknown:
        known = ", ".join(sorted(option_names | url_names | {"config"}))
        raise ConfigurationError(
            f"{parsed.scheme} channel: unknown option(s) {', '.join(unknown)}; known: {known}"
        )
    values: dict[str, Any] = dict(parsed.query)
    base = Path.cwd()
    source = f"{parsed.scheme} channel"
    config = options.get("config")
    if config is not None:
        path = Path(config)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigurationError(f"config file {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"config file {path}: not valid TOML ({exc})") from None
        table = data.get(section, data)
        if not isinstance(table, dict):
            raise ConfigurationError(f"config file {path}: [{section}] must be a table")
        bad = sorted(set(table) - option_names - url_names)
        if bad:
            raise ConfigurationError(f"config file {path}: unknown setting(s) {', '.join(bad)}")
        values.update(table)
        base = path.resolve().parent
        source = f"config file {path}"
    values.update({k: v for k, v in options.items() if k != "config"})
    return Settings(values, base, source)
