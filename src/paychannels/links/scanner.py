"""Hall scanners: payment codes read one per line from a serial (CDC) port or standard input.

A scanner in serial mode (USB CDC: ``/dev/ttyACM0``, ``COM5``) sends each code it reads as
ASCII digits ending in CR, LF or CRLF; one in keyboard mode types them into whatever has the
focus — standard input here. ``open_scanner("serial:///dev/ttyACM0?baudrate=9600")`` or
``open_scanner("-")`` gives a ``Scanner``: ``read()`` returns the next ``PaymentCode``; a line
that is no code is an ``UnreadableScan`` (a ``InvalidPaymentCode`` naming the source and line,
never the digits) and the next ``read()`` goes on with the next line. Lines are bounded
(``MAX_LINE``): a stuck or noisy port cannot grow memory.
"""

from __future__ import annotations

import os
import select
import sys
import time
from collections.abc import Iterator
from types import TracebackType
from typing import BinaryIO, Protocol

from paychannels.links import link_from_parsed
from paychannels.links.base import Link, deadline_in
from paychannels.links.serial import FORM as SERIAL_FORM
from paychannels.links.serial import SerialSettings
from paychannels.values.errors import InvalidURL, LinkClosed, LinkTimeout
from paychannels.values.paymentcode import InvalidPaymentCode, PaymentCode
from paychannels.values.urls import parse_url

__all__ = [
    "FORMS",
    "MAX_LINE",
    "LinkSource",
    "Scanner",
    "Source",
    "StreamSource",
    "UnreadableScan",
    "open_scanner",
]

#: the longest line looked at (a payment code has at most 24 digits; scanners add a prefix)
MAX_LINE = 128
#: scanners in serial mode default to 9600 8N1 (not ZVT's two stop bits)
SCANNER_SERIAL = SerialSettings(stopbits="1")
FORMS = f"{SERIAL_FORM.replace('stopbits=2', 'stopbits=1')} or - (standard input)"
_CHUNK = 256


class UnreadableScan(InvalidPaymentCode):
    """A scanned line that is no payment code; says where, never quotes the digits."""

    def __init__(self, where: str, line: int, why: str) -> None:
        super().__init__(f"{where} line {line}: {why}")
        self.line = line


class Source(Protocol):
    """Where scanned bytes come from: ``b""`` means the source has ended."""

    where: str

    def read(self, timeout: float | None) -> bytes:
        """Some bytes, waiting at most ``timeout`` seconds (None: as long as it takes);
        ``LinkTimeout`` when none came."""
        ...

    def close(self) -> None:
        """Let the source go."""
        ...


class LinkSource:
    """A scanner behind a byte link (a serial port); the link never ends on its own."""

    def __init__(self, link: Link) -> None:
        self.link = link
        self.where = f"scanner {link.url}"

    def read(self, timeout: float | None) -> bytes:
        if not self.link.is_open:
            self.link.open()
        limit = 3600.0 * 24 if timeout is None else timeout
        return self.link.read(_CHUNK, deadline=deadline_in(limit))

    def close(self) -> None:
        self.link.close()


class StreamSource:
    """A scanner typing into a stream (standard input, a pipe); its end is the end."""

    def __init__(self, stream: BinaryIO, where: str = "scanner on standard input") -> None:
        self.stream = stream
        self.where = where

    def read(self, timeout: float | None) -> bytes:
        if timeout is not None and not _ready(self.stream, timeout):
            raise LinkTimeout(f"{self.where}: nothing scanned within {timeout:g} s")
        return os.read(self.stream.fileno(), _CHUNK)

    def close(self) -> None:
        """Standard input belongs to the process: left open."""


def _ready(stream: BinaryIO, timeout: float) -> bool:
    readable, _, _ = select.select([stream.fileno()], [], [], max(0.0, timeout))
    return bool(readable)


class Scanner:
    """Payment codes from a ``Source``, one per line (see the module docstring)."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self._buffer = bytearray()
        self._skip_lf = False  # the last line ended in CR: a LF right after belongs to it
        self._overlong = False  # inside a line past MAX_LINE: dropped up to its end
        self._ended = False
        self.lines = 0

    @property
    def where(self) -> str:
        """The scanner, for messages."""
        return self.source.where

    def read(self, timeout: float | None = None) -> PaymentCode | None:
        """The next code; None when the source has ended. ``UnreadableScan`` for a line that
        is no code (read again for the next one); ``LinkTimeout`` when nothing came in time."""
        deadline = None if timeout is None else deadline_in(timeout)
        while True:
            line = self._next_line()
            if line is not None:
                return self._code(line)
            if self._ended:
                return None
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise LinkTimeout(f"{self.where}: nothing scanned within {timeout:g} s")
            try:
                data = self.source.read(left)
            except LinkClosed:
                data = b""
            if not data:
                self._ended = True
                if self._buffer or self._overlong:  # a last line without its end
                    self._buffer += b"\n"
                continue
            self._take(data)

    def __iter__(self) -> Iterator[PaymentCode | UnreadableScan]:
        """Every code until the source ends; an unreadable line comes as its error (the
        loop goes on)."""
        while True:
            try:
                code = self.read()
            except UnreadableScan as exc:
                yield exc
                continue
            if code is None:
                return
            yield code

    def _take(self, data: bytes) -> None:
        if self._skip_lf and data[:1] == b"\n":
            data = data[1:]
        self._skip_lf = False
        self._buffer += data

    def _next_line(self) -> bytes | None:
        """The next complete line (without its end), or None; a line past ``MAX_LINE`` comes
        back as ``b"\\x00"`` times its length so the caller can name it without its text."""
        while True:
            ends = [i for i in (self._buffer.find(b"\r"), self._buffer.find(b"\n")) if i >= 0]
            if not ends:
                if len(self._buffer) > MAX_LINE:  # drop what cannot be a code, keep counting
                    self._overlong = True
                    self._buffer.clear()
                return None
            end = min(ends)
            line = bytes(self._buffer[:end])
            cr = self._buffer[end : end + 1] == b"\r"
            del self._buffer[: end + 1]
            if cr:
                if self._buffer[:1] == b"\n":
                    del self._buffer[:1]
                elif not self._buffer:
                    self._skip_lf = True
            if self._overlong or len(line) > MAX_LINE:
                self._overlong = False
                self.lines += 1
                return b"\x00" * (MAX_LINE + 1)
            if line:  # an empty line (a lone terminator) is no scan
                self.lines += 1
                return line

    def _code(self, line: bytes) -> PaymentCode:
        if len(line) > MAX_LINE:
            raise UnreadableScan(self.where, self.lines, f"longer than {MAX_LINE} characters")
        text = line.decode("ascii", errors="replace")
        try:
            return PaymentCode.parse(text)
        except InvalidPaymentCode as exc:
            raise UnreadableScan(self.where, self.lines, str(exc)) from None

    def close(self) -> None:
        """Let the port go."""
        self.source.close()

    def __enter__(self) -> Scanner:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_scanner(url: str, *, stdin: BinaryIO | None = None) -> Scanner:
    """A scanner on ``serial://DEVICE?baudrate=…`` (opened now) or ``-`` (standard input)."""
    if url in ("-", "stdin:", "stdin://"):
        return Scanner(StreamSource(stdin or sys.stdin.buffer))
    parsed = parse_url(url, what="scanner URL", form=FORMS)
    if parsed.scheme != "serial":
        raise InvalidURL(f"{url!r}: a scanner is read from {FORMS}")
    link = link_from_parsed(parsed, transport="serial", defaults=SCANNER_SERIAL)
    link.open()
    return Scanner(LinkSource(link))
