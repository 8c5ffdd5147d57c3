"""Parsing of channel and link URLs (``zvt+tcp://10.1.2.3:20007``, ``serial:///dev/ttyUSB0?...``).

One parser for every URL the library opens, so errors read the same everywhere and name the
expected form. Secrets are refused in URLs (user information, any secret-named option: the
rule is ``masking.is_secret_name``): they come from keyword arguments or config files. Errors
never echo a URL whole: ``ParsedURL.raw`` is the URL as ``masking.redact_url`` shows it in
messages, and option values are quoted through ``masking.shown``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from paychannels.security.masking import is_secret_name, redact_url, shown
from paychannels.values.errors import InvalidURL

__all__ = ["ParsedURL", "http_base", "parse_url"]

_LOOPBACK = ("127.", "localhost", "::1")

_SCHEME = re.compile(r"^[a-z][a-z0-9.-]*(\+[a-z][a-z0-9.-]*)?$")


@dataclass(frozen=True, slots=True)
class ParsedURL:
    """A URL split into what openers need: ``zvt+tcp`` -> kind ``zvt``, transport ``tcp``.

    ``raw`` is the URL as messages show it (``redact_url(url, message=True)``: long option
    values elided), never a secret; ``query`` holds the real values and stays out of ``repr``.
    """

    raw: str
    scheme: str
    kind: str
    transport: str | None
    host: str | None
    port: int | None
    path: str
    query: dict[str, str] = field(default_factory=dict, repr=False)

    def option(self, name: str, default: str | None = None) -> str | None:
        """A query option as text."""
        return self.query.get(name, default)

    def int_option(self, name: str, default: int, *, minimum: int = 0, maximum: int = 10**9) -> int:
        """A query option that must be a whole number within ``minimum..maximum``."""
        value = self.query.get(name)
        if value is None:
            return default
        try:
            return int(_number(value, minimum, maximum, whole=True))
        except ValueError as exc:
            raise InvalidURL(f"{self.raw!r}: option {name}={shown(value)} must be {exc}") from None

    def float_option(
        self, name: str, default: float, *, minimum: float = 0.0, maximum: float = 86_400.0
    ) -> float:
        """A query option that must be a number (seconds, for example) within the range."""
        value = self.query.get(name)
        if value is None:
            return default
        try:
            return float(_number(value, minimum, maximum, whole=False))
        except ValueError as exc:
            raise InvalidURL(f"{self.raw!r}: option {name}={shown(value)} must be {exc}") from None

    def check_options(self, allowed: set[str], form: str) -> None:
        """Refuse query options the opener does not know, naming the expected form."""
        unknown = sorted(set(self.query) - allowed)
        if unknown:
            raise InvalidURL(
                f"{self.raw!r}: unknown option(s) {', '.join(map(shown, unknown))}; expected {form}"
            )

    def require_host_port(self, form: str, default_port: int | None = None) -> tuple[str, int]:
        """Host and port, or an error that shows the expected form."""
        if not self.host:
            raise InvalidURL(f"{self.raw!r} names no host; expected {form}")
        port = self.port if self.port is not None else default_port
        if port is None:
            raise InvalidURL(f"{self.raw!r} names no port; expected {form}")
        return self.host, port


_NUMBER = re.compile(r"-?[0-9]{1,12}(\.[0-9]{1,9})?")  # [0-9]: ASCII; no exponent, nan or inf


def _number(text: str, minimum: float, maximum: float, *, whole: bool) -> float | int:
    """The one rule for numeric options of every driver: plain ASCII decimal, finite, in
    range. ``ValueError`` says what the value must be."""
    kind = "a whole number" if whole else "a number"
    if not _NUMBER.fullmatch(text) or (whole and "." in text):
        raise ValueError(f"{kind} from {minimum:g} to {maximum:g}")
    value = int(text) if whole else float(text)
    if not minimum <= value <= maximum:
        raise ValueError(f"{kind} from {minimum:g} to {maximum:g}")
    return value


def parse_url(url: str, *, what: str = "URL", form: str = "scheme://host:port/path") -> ParsedURL:
    """Split a URL; ``InvalidURL`` names what is wrong and the expected ``form``."""
    if not isinstance(url, str):
        raise TypeError(f"{what} must be a string, not {type(url).__name__}")
    shown_url = redact_url(url, message=True)
    if "://" not in url:
        raise InvalidURL(f"{shown_url} is not a {what}; expected {form}")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidURL(f"{shown_url} is not a valid {what}; expected {form}") from None
    scheme = parts.scheme.lower()
    if not _SCHEME.match(scheme):
        raise InvalidURL(f"{shown_url}: {shown(scheme)} is not a valid scheme; expected {form}")
    if "@" in parts.netloc:
        raise InvalidURL(
            f"{what} must not carry a user name or password ({scheme}://user:***@...); "
            "pass credentials as keyword arguments or in a config file"
        )
    query: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if is_secret_name(key):
            raise InvalidURL(
                f"{what} must not carry the secret {shown(key)}; pass it as a keyword argument "
                "or in a config file (secrets in URLs end up in logs)"
            )
        query[key] = value
    kind, _, transport = scheme.partition("+")
    return ParsedURL(
        raw=shown_url,
        scheme=scheme,
        kind=kind,
        transport=transport or None,
        host=parts.hostname,
        port=port,
        path=unquote(parts.path),
        query=query,
    )


def http_base(parsed: ParsedURL, form: str) -> str:
    """``scheme://host[:port]`` of a ``kind+https://`` (or loopback-only ``kind+http://``) URL.

    Plain http is refused unless the host is the loopback interface (a simulator): secrets
    and payments never cross a network unencrypted.
    """
    if parsed.transport not in ("https", "http"):
        raise InvalidURL(f"{parsed.raw!r}: use {parsed.kind}+https://... ; expected {form}")
    host = parsed.host or ""
    if not host:
        raise InvalidURL(f"{parsed.raw!r} names no host; expected {form}")
    if parsed.transport == "http" and not host.startswith(_LOOPBACK):
        raise InvalidURL(
            f"{parsed.raw!r}: plain http is only for loopback simulators (127.0.0.1); "
            f"use {parsed.kind}+https"
        )
    netloc = f"[{host}]" if ":" in host else host
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.transport}://{netloc}{port}"
