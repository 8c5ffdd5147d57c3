"""Reading ``paychannels.toml``: TOML, then secrets, then strict pydantic, errors by line and key.

``tomllib`` gives no line numbers, so ``KeyLines`` finds them in the text. Each table is a
strict ``FileModel`` (unknown keys refused, ``"60"`` is not a number); channel tables are
open — every key but ``url`` and the ``*_at`` schedule is an option for ``open_channel``
(checked by the channel when it opens, see ``Collector.from_config``). Secret references are
resolved here, so a missing variable fails at start, not at the first payment.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from os import PathLike
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

from pydantic import BaseModel, Field, ValidationError
from pydantic_core import ErrorDetails

from paychannels.config.errors import (
    ConfigFileError,
    ConfigSyntaxError,
    ConfigValueError,
    SecretFileExposed,
    SecretUnavailable,
)
from paychannels.config.model import (
    DOWNLOADS,
    KNOWN_KINDS,
    CallbackSettings,
    ChannelConfig,
    Deployment,
    Download,
    JanitorSettings,
    JournalSettings,
    OptionValue,
)
from paychannels.config.secrets import Secret, SecretProblem, exposed, is_reference, resolve
from paychannels.runtime.countytime import DEFAULT_ZONE, zone_named
from paychannels.security.masking import is_secret_name, redact_url
from paychannels.values.configfile import Between, FileModel, KeyLines, error_text, first_error
from paychannels.values.errors import ConfigurationError, PaychannelsError
from paychannels.values.urls import parse_url

__all__ = ["CONFIG_ENV", "load_config", "parse_config", "parse_listen"]

#: the environment variable naming the config file when ``--config`` is not given
CONFIG_ENV = "PAYCHANNELS_CONFIG"
M = TypeVar("M", bound=BaseModel)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
_DURATION = re.compile(r"^(?:([0-9]{1,5})h)?(?:([0-9]{1,5})m)?(?:([0-9]{1,7})s)?$")
#: deeper than any deployment needs; checked before anything walks the values recursively
_MAX_DEPTH = 32
_TOO_DEEP = f"lists and tables nested more than {_MAX_DEPTH} deep"
_LISTEN = re.compile(r"^(\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9.-]{1,253}):([0-9]{1,5})$")


class _Journal(FileModel, arbitrary_types_allowed=True):
    url: str | Secret
    create: bool = False


class _County(FileModel):
    zone: str = DEFAULT_ZONE


class _Callbacks(FileModel):
    listen: str = "127.0.0.1:8080"
    prefix: str = "/"
    workers: Annotated[int, Between(1, 64)] = 1


class _Janitor(FileModel):
    interval: str | int = "60s"


class _Top(FileModel):
    journal: dict[str, Any] | None = None
    county: dict[str, Any] = Field(default_factory=dict)
    channels: dict[str, Any] = Field(default_factory=dict)
    callbacks: dict[str, Any] = Field(default_factory=dict)
    janitor: dict[str, Any] = Field(default_factory=dict)


class _Reader:
    """One file being read: its text's lines, its name in messages, its folder."""

    def __init__(self, text: str, source: str, base: Path, file: Path | None) -> None:
        self.lines = KeyLines(text)
        self.source = source
        self.base = base
        self.file = file

    def fail(
        self,
        kind: Callable[[str, int | None, str, str], ConfigFileError],
        loc: tuple[str, ...],
        what: str,
    ) -> NoReturn:
        raise kind(self.source, self.lines.line(*loc) if loc else None, ".".join(loc), what)

    def model(self, model: type[M], data: object, root: tuple[str, ...]) -> M:
        if not isinstance(data, dict):
            self.fail(ConfigValueError, root, f"[{'.'.join(root)}] must be a table")
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            error = first_error(exc)
            self.fail(ConfigValueError, (*root, *_keys(data, error["loc"])), _what(error))

    def secret(
        self, value: Mapping[str, object], loc: tuple[str, ...], *, secret: bool = True
    ) -> Secret:
        try:
            return resolve(value, self.base, secret=secret)
        except SecretProblem as exc:
            self.fail(SecretFileExposed if exc.exposed else SecretUnavailable, loc, str(exc))

    def inline(self, value: str, loc: tuple[str, ...]) -> Secret:
        """A secret written in the file itself: allowed only if the file is not world-readable."""
        problem = exposed(self.file) if self.file is not None else None
        if problem:
            self.fail(
                SecretFileExposed,
                loc,
                f"a secret written inline, and {problem}; or refer to it: "
                '{ env = "NAME" } or { file = "PATH" }',
            )
        return Secret(value, "inline")


def _depth(value: object) -> int:
    """How deep lists and tables nest in ``value`` (iteratively: no recursion to exhaust)."""
    deepest, todo = 0, [(value, 0)]
    while todo:
        item, level = todo.pop()
        deepest = max(deepest, level)
        if isinstance(item, dict):
            todo.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            todo.extend((v, level + 1) for v in item)
    return deepest


def _keys(data: object, loc: tuple[str | int, ...]) -> tuple[str, ...]:
    """The keys of an error's location as written in the file (pydantic adds union tags)."""
    out: list[str] = []
    for part in loc:
        found, child = _child(data, part)
        if not found:
            if not out or isinstance(data, dict):  # a missing or unknown key: still its name
                out.append(str(part))
            break
        data = child
        out.append(str(part))
    return tuple(out)


def _child(data: object, part: str | int) -> tuple[bool, object]:
    if isinstance(data, dict) and part in data:
        return True, data[part]
    if isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
        return True, data[part]
    return False, None


def _what(error: ErrorDetails) -> str:
    """A pydantic error in our words, without the key (the message names it already)."""
    if error["type"] == "extra_forbidden":
        return "unknown key"
    if error["type"] == "missing":
        return "is required"
    return error_text(error, "").strip()


def load_config(path: str | PathLike[str]) -> Deployment:
    """Read and check ``paychannels.toml`` at ``path``; every mistake a ``ConfigFileError``."""
    file = Path(path)
    source = str(path)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigSyntaxError(source, None, "", "not UTF-8 text") from None
    except OSError as exc:
        raise ConfigSyntaxError(source, None, "", f"cannot read: {exc.strerror}") from None
    return parse_config(text, source=source, base=file.resolve().parent, file=file)


def parse_config(
    text: str,
    *,
    source: str = "paychannels.toml",
    base: Path | None = None,
    file: Path | None = None,
) -> Deployment:
    """Check the TOML ``text`` of a config file (``file``: where it lies, for its permissions)."""
    reader = _Reader(text, source, base or Path.cwd(), file)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        what = str(getattr(exc, "msg", None) or exc)
        line = getattr(exc, "lineno", None) or _line_in(str(exc), text)
        raise ConfigSyntaxError(source, line, "", f"not TOML: {what}") from None
    except RecursionError:  # tomllib reads nested arrays and tables recursively
        raise ConfigSyntaxError(source, None, "", _TOO_DEEP) from None
    if _depth(data) > _MAX_DEPTH:
        raise ConfigSyntaxError(source, None, "", _TOO_DEEP)
    top = reader.model(_Top, data, ())
    zone = _zone(reader, top.county)
    channels = _channels(reader, top.channels)
    downloads = tuple(d for channel in channels.values() for d in channel.downloads)
    return Deployment(
        source=source,
        journal=None if top.journal is None else _journal(reader, top.journal),
        zone=zone,
        channels=channels,
        callbacks=_callbacks(reader, top.callbacks),
        janitor=_janitor(reader, top.janitor, zone, downloads),
        lines=reader.lines,
    )


def _line_in(message: str, text: str) -> int | None:
    """The line a TOML error message names (``line 3``, or the end of the document)."""
    found = re.search(r"line (\d+)", message)
    if found:
        return int(found.group(1))
    return max(1, len(text.splitlines())) if "end of document" in message else None


def _journal(reader: _Reader, table: object) -> JournalSettings:
    if isinstance(table, dict) and is_reference(table.get("url")):
        table = {**table, "url": reader.secret(table["url"], ("journal", "url"))}
    checked = reader.model(_Journal, table, ("journal",))
    url = checked.url
    if isinstance(url, str):
        if "://" not in url:
            reader.fail(
                ConfigValueError,
                ("journal", "url"),
                "must be a journal URL: sqlite:///PATH or postgresql://HOST/DB",
            )
        if redact_url(url) != url:  # a password in the user information or the query
            url = reader.inline(url, ("journal", "url"))
    return JournalSettings(url=url, create=checked.create)


def _zone(reader: _Reader, table: object) -> str:
    zone = reader.model(_County, table, ("county",)).zone
    try:
        zone_named(zone)
    except ConfigurationError:  # its message quotes the value; ours never does
        reader.fail(
            ConfigValueError, ("county", "zone"), "is not a known time zone (e.g. Asia/Shanghai)"
        )
    return zone


def _callbacks(reader: _Reader, table: object) -> CallbackSettings:
    checked = reader.model(_Callbacks, table, ("callbacks",))
    listen = parse_listen(checked.listen)
    if listen is None:
        reader.fail(ConfigValueError, ("callbacks", "listen"), "must be " + LISTEN_FORM)
    if (
        not checked.prefix.startswith("/")
        or not checked.prefix.isprintable()
        or (any(c in checked.prefix for c in "?#% "))
    ):
        reader.fail(
            ConfigValueError,
            ("callbacks", "prefix"),
            "must be a URL path starting with / (e.g. /callbacks)",
        )
    host, port = listen
    return CallbackSettings(host=host, port=port, prefix=checked.prefix, workers=checked.workers)


#: what ``[callbacks] listen`` and ``serve --listen`` take
LISTEN_FORM = "HOST:PORT (e.g. 127.0.0.1:8080, [::1]:8080), port 1..65535"


def parse_listen(text: str) -> tuple[str, int] | None:
    """``HOST:PORT`` (an IPv6 host in brackets) as (host, port), or None when it is not."""
    found = _LISTEN.match(text)
    port = int(found.group(2)) if found else 0
    if not found or not 1 <= port <= 65535:
        return None
    return found.group(1).strip("[]"), port


def _janitor(
    reader: _Reader, table: object, zone: str, downloads: tuple[Download, ...]
) -> JanitorSettings:
    checked = reader.model(_Janitor, table, ("janitor",))
    interval = _duration(checked.interval)
    if interval is None or not timedelta(seconds=1) <= interval <= timedelta(days=1):
        reader.fail(
            ConfigValueError,
            ("janitor", "interval"),
            'must be a duration from 1s to 24h, e.g. "60s", "5m", "1h30m"',
        )
    return JanitorSettings(interval=interval, zone=zone, downloads=downloads)


def _duration(value: str | int) -> timedelta | None:
    if isinstance(value, int):
        return timedelta(seconds=value)
    found = _DURATION.match(value.strip())
    if not found or not any(found.groups()):
        return None
    h, m, s = (int(g or 0) for g in found.groups())
    return timedelta(hours=h, minutes=m, seconds=s)


def _channels(reader: _Reader, tables: dict[str, Any]) -> dict[str, ChannelConfig]:
    out: dict[str, ChannelConfig] = {}
    for name, table in tables.items():
        loc = ("channels", name)
        if not _NAME.match(name):
            reader.fail(
                ConfigValueError, loc, "a channel name is 1-64 letters, digits, '-', '_' or '.'"
            )
        if not isinstance(table, dict):
            reader.fail(ConfigValueError, loc, f"[channels.{name}] must be a table")
        url = table.get("url")
        if not isinstance(url, str):
            reader.fail(
                ConfigValueError,
                (*loc, "url"),
                "is required: the channel's URL as text"
                if url is None
                else "must be the channel's URL as text",
            )
        try:
            parse_url(url, what="channel URL", form="kind+transport://where?options")
        except PaychannelsError as exc:
            reader.fail(ConfigValueError, (*loc, "url"), str(exc))
        options = {
            key: _option(reader, value, (*loc, key), secret=is_secret_name(key))
            for key, value in table.items()
            if key != "url" and key not in DOWNLOADS
        }
        out[name] = ChannelConfig(name, url, options, _downloads(reader, name, table, url))
    return out


def _option(reader: _Reader, value: object, loc: tuple[str, ...], *, secret: bool) -> OptionValue:
    """A channel option: references resolved, an inline secret wrapped, dates refused."""
    if is_reference(value):
        assert isinstance(value, dict)
        return reader.secret(value, loc, secret=secret)
    if isinstance(value, list):
        return [_option(reader, v, (*loc, str(i)), secret=secret) for i, v in enumerate(value)]
    if isinstance(value, datetime | date | time):
        reader.fail(
            ConfigValueError,
            loc,
            "a channel option is text, a number, true/false, a list or a table, not a date or time",
        )
    if secret and isinstance(value, str):
        return reader.inline(value, loc)
    assert isinstance(value, str | int | float | bool | dict)
    return value


def _downloads(reader: _Reader, name: str, table: dict[str, Any], url: str) -> tuple[Download, ...]:
    kind = url.partition("://")[0].partition("+")[0].lower()
    out: list[Download] = []
    for key, (what, kinds) in DOWNLOADS.items():
        if key not in table:
            continue
        loc = ("channels", name, key)
        if kind in KNOWN_KINDS and kind not in kinds:
            fits = [k for k, (_, ks) in DOWNLOADS.items() if kind in ks]
            hint = f" (it has {fits[0]})" if fits else " (it has none)"
            reader.fail(
                ConfigValueError,
                loc,
                f"a {kind} channel has no {what.replace('_', ' ')} to download{hint}",
            )
        written = table[key]
        times = written if isinstance(written, list) else [written]
        if not times:
            reader.fail(ConfigValueError, loc, 'must name at least one time, e.g. "10:00"')
        for i, item in enumerate(times):
            at = _clock(item)
            if at is None:
                where = loc if not isinstance(written, list) else (*loc, str(i))
                reader.fail(
                    ConfigValueError,
                    where,
                    'must be a time of day HH:MM (county time), e.g. "10:00", or a list of them',
                )
            out.append(Download(name, what, at))
    return tuple(out)


def _clock(value: object) -> time | None:
    if isinstance(value, time) and value.tzinfo is None:
        return value.replace(second=0, microsecond=0) if value.second == 0 else None
    if isinstance(value, str):
        found = _CLOCK.match(value.strip())
        if found:
            return time(int(found.group(1)), int(found.group(2)))
    return None
