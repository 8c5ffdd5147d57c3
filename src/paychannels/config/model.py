"""What ``paychannels.toml`` says, as checked values: the deployment's one description.

``Deployment`` holds the journal, the county's zone, the channels (URL, the options
``open_channel`` takes, their scheduled downloads), the callback server and the janitor.
Secrets in it are ``Secret``\\ s, so its ``repr`` shows where they come from, never what they
are. ``JanitorSettings`` is what the janitor reads: its interval and every channel's download
times in the county's zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from typing import Any, Literal

from paychannels.config.errors import ChannelOpenError, ConfigValueError
from paychannels.config.secrets import Secret
from paychannels.runtime.clock import Clock, SystemClock
from paychannels.runtime.countytime import DEFAULT_ZONE, CountyTime
from paychannels.values.configfile import KeyLines

__all__ = [
    "DOWNLOADS",
    "CallbackSettings",
    "ChannelConfig",
    "Deployment",
    "Download",
    "DownloadKind",
    "JanitorSettings",
    "JournalSettings",
    "OptionValue",
]

#: a channel option as written: text, number, true/false, a secret, a list or a table
OptionValue = str | int | float | bool | Secret | list[Any] | dict[str, Any]
DownloadKind = Literal["bills", "end_of_day", "reports", "results"]
#: the schedule keys of a channel table, what each fetches and which channel kinds have it
DOWNLOADS: dict[str, tuple[DownloadKind, frozenset[str]]] = {
    "bills_at": ("bills", frozenset({"wechatpay", "alipay"})),
    "end_of_day_at": ("end_of_day", frozenset({"zvt", "mispos"})),
    "reports_at": ("reports", frozenset({"nexo"})),
    "results_at": ("results", frozenset({"bankfile"})),
}
#: the channel kinds this library ships (a driver package's own kinds may have any download)
KNOWN_KINDS = frozenset({"memory", "paycode"}).union(*(k for _, k in DOWNLOADS.values()))


@dataclass(frozen=True, slots=True)
class JournalSettings:
    """``[journal]``: where the truth is, and whether a new journal may be made there."""

    url: str | Secret
    create: bool = False

    def reveal(self) -> str:
        """The URL to open (a secret one revealed)."""
        return self.url.reveal() if isinstance(self.url, Secret) else self.url


@dataclass(frozen=True, slots=True)
class Download:
    """One scheduled download: ``kind`` of ``channel`` every day ``at`` (county time)."""

    channel: str
    kind: DownloadKind
    at: time


@dataclass(frozen=True, slots=True)
class ChannelConfig:
    """``[channels.<name>]``: the URL, the options ``open_channel`` takes, the downloads."""

    name: str
    url: str
    options: Mapping[str, OptionValue] = field(default_factory=dict)
    downloads: tuple[Download, ...] = ()

    def open_options(self) -> dict[str, Any]:
        """The options with their secrets revealed: for ``open_channel`` only."""
        return {k: _revealed(v) for k, v in self.options.items()}


def _revealed(value: Any) -> Any:
    if isinstance(value, Secret):
        return value.reveal()
    if isinstance(value, list):
        return [_revealed(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class CallbackSettings:
    """``[callbacks]``: where ``paychannels serve`` listens, under which path, how many workers."""

    host: str = "127.0.0.1"
    port: int = 8080
    prefix: str = "/"
    workers: int = 1

    @property
    def listen(self) -> str:
        """``host:port`` as written (an IPv6 host in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class JanitorSettings:
    """What ``paychannels recover --loop`` reads: how often it runs, what to fetch when."""

    interval: timedelta = timedelta(seconds=60)
    zone: str = DEFAULT_ZONE
    downloads: tuple[Download, ...] = ()

    def for_channel(self, name: str) -> tuple[Download, ...]:
        """The downloads of one channel, earliest first."""
        return tuple(sorted((d for d in self.downloads if d.channel == name), key=_at))

    def county(self, clock: Clock | None = None) -> CountyTime:
        """The county's clock the download times are read in."""
        return CountyTime(self.zone, clock or SystemClock())


def _at(download: Download) -> time:
    return download.at


@dataclass(frozen=True, slots=True)
class Deployment:
    """A whole ``paychannels.toml``, checked; ``source`` is the file it came from."""

    source: str
    journal: JournalSettings | None = None
    zone: str = DEFAULT_ZONE
    channels: Mapping[str, ChannelConfig] = field(default_factory=dict)
    callbacks: CallbackSettings = field(default_factory=CallbackSettings)
    janitor: JanitorSettings = field(default_factory=JanitorSettings)
    lines: KeyLines = field(default_factory=lambda: KeyLines(""), repr=False, compare=False)

    def journal_settings(self) -> JournalSettings:
        """``[journal]``, or an error naming the file when it has none."""
        if self.journal is None:
            raise ConfigValueError(
                self.source, None, "journal.url", "is required (no [journal] table)"
            )
        return self.journal

    def county(self, clock: Clock | None = None) -> CountyTime:
        """The county's clock (``[county] zone``)."""
        return CountyTime(self.zone, clock or SystemClock())

    def channel_failed(self, name: str, exc: Exception) -> ChannelOpenError:
        """The error for a channel that would not open: its table, its line, why."""
        return ChannelOpenError(
            self.source,
            self.lines.line("channels", name),
            f"channels.{name}",
            f"cannot open: {exc}",
        )
