"""``serial:///dev/ttyUSB0?baudrate=9600&stopbits=2`` and ``loop://``: links on pyserial.

pyserial opens and configures the port (``serial_for_url``: a device path, a pty slave, or
its ``loop://`` loopback). On POSIX ports reads go straight to the descriptor with
``select`` so a deadline costs no port reconfiguration; elsewhere pyserial's own timed read
is used. Opening a port that is missing, busy or forbidden is a ``LinkConnectError``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import time
from dataclasses import dataclass
from typing import Any

import serial

from paychannels.links.base import Link, remaining
from paychannels.security.masking import shown
from paychannels.values.errors import (
    InvalidURL,
    LinkClosed,
    LinkConnectError,
    LinkError,
    LinkTimeout,
)

__all__ = ["SerialLink", "SerialSettings"]

FORM = "serial:///dev/ttyUSB0?baudrate=9600&bytesize=8&parity=N&stopbits=2 (or serial://COM3?...)"
BAUDRATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400)
_PARITIES = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD}
_PARITIES.update({"M": serial.PARITY_MARK, "S": serial.PARITY_SPACE})
_STOPBITS = {"1": serial.STOPBITS_ONE, "1.5": serial.STOPBITS_ONE_POINT_FIVE}
_STOPBITS["2"] = serial.STOPBITS_TWO


@dataclass(frozen=True, slots=True)
class SerialSettings:
    """Line settings; the defaults are ZVT's (9600 baud, 8 data bits, no parity, 2 stop bits)."""

    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: str = "2"

    @classmethod
    def from_query(
        cls, raw: str, query: dict[str, str], defaults: SerialSettings
    ) -> SerialSettings:
        """Settings from URL options, each checked, errors naming the expected form."""

        def pick(name: str, allowed: tuple[str, ...], default: str) -> str:
            value = query.get(name, default)
            value = value.upper() if name == "parity" else value
            if value not in allowed:
                raise InvalidURL(
                    f"{raw!r}: {name}={shown(value)} must be one of {', '.join(allowed)}; "
                    f"expected {FORM}"
                )
            return value

        baud = pick("baudrate", tuple(str(b) for b in BAUDRATES), str(defaults.baudrate))
        size = pick("bytesize", ("5", "6", "7", "8"), str(defaults.bytesize))
        return cls(
            baudrate=int(baud),
            bytesize=int(size),
            parity=pick("parity", tuple(_PARITIES), defaults.parity),
            stopbits=pick("stopbits", tuple(_STOPBITS), defaults.stopbits),
        )

    def describe(self) -> str:
        """``9600 8N2`` style."""
        return f"{self.baudrate} {self.bytesize}{self.parity}{self.stopbits}"

    def query(self) -> str:
        """The URL query that names these settings."""
        return (
            f"baudrate={self.baudrate}&bytesize={self.bytesize}&parity={self.parity}"
            f"&stopbits={self.stopbits}"
        )


class SerialLink(Link):
    """A serial port (or pty, or pyserial's ``loop://``) as a link."""

    def __init__(self, port: str, settings: SerialSettings | None = None) -> None:
        self.port = port
        self.settings = settings or SerialSettings()
        where = "loop://" if port == "loop://" else f"serial://{port}?{self.settings.query()}"
        super().__init__(where)
        self._ser: Any = None
        self._fd: int | None = None

    def open(self) -> None:
        if self._ser is not None:
            return
        s = self.settings
        try:
            ser = serial.serial_for_url(
                self.port,
                do_not_open=True,
                baudrate=s.baudrate,
                bytesize=s.bytesize,
                parity=_PARITIES[s.parity],
                stopbits=_STOPBITS[s.stopbits],
                timeout=0,
                write_timeout=10,
            )
            if self.port != "loop://":
                ser.exclusive = True
            ser.open()
        except (serial.SerialException, OSError, ValueError) as exc:
            raise LinkConnectError(f"{self.url}: cannot open the port: {_why(exc)}") from None
        self._ser = ser
        fileno = getattr(ser, "fileno", None)
        self._fd = fileno() if callable(fileno) and getattr(ser, "fd", None) is not None else None
        ser.reset_input_buffer()
        self._opened()

    @property
    def is_open(self) -> bool:
        return self._ser is not None

    def close(self) -> None:
        ser, self._ser, self._fd = self._ser, None, None
        if ser is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                ser.close()

    def _write(self, data: bytes) -> None:
        if self._fd is not None:
            self._write_fd(self._fd, data)
            return
        try:
            sent = self._ser.write(data)
        except serial.SerialTimeoutException:
            raise LinkError(
                f"{self.url}: write timed out (flow control holding the line?)"
            ) from None
        except (serial.SerialException, OSError) as exc:
            self.close()
            raise LinkClosed(f"{self.url}: write failed: {_why(exc)}") from None
        self._written += len(data) if sent is None else sent

    def _read(self, max_bytes: int, deadline: float) -> bytes:
        if self._fd is not None:
            return self._read_fd(self._fd, max_bytes, deadline)
        ser = self._ser
        ser.timeout = remaining(deadline)
        try:
            first = ser.read(1)
            if not first:
                raise LinkTimeout(f"{self.url}: nothing arrived before the deadline")
            more = min(ser.in_waiting, max_bytes - 1)
            data: bytes = first + (ser.read(more) if more else b"")
            return data
        except serial.SerialException as exc:
            self.close()
            raise LinkClosed(f"{self.url}: read failed: {_why(exc)}") from None

    def _write_fd(self, fd: int, data: bytes) -> None:
        """Straight to the descriptor (pyserial's write adds a select per call)."""
        view = memoryview(data)
        deadline = time.monotonic() + 10
        while view:
            try:
                sent = os.write(fd, view)
            except BlockingIOError:
                if not select.select([], [fd], [], remaining(deadline))[1]:
                    raise LinkError(f"{self.url}: write timed out (flow control?)") from None
                continue
            except OSError as exc:
                self.close()
                raise LinkClosed(f"{self.url}: write failed: {_why(exc)}") from None
            self._written += sent
            view = view[sent:]

    def _read_fd(self, fd: int, max_bytes: int, deadline: float) -> bytes:
        while True:
            wait = remaining(deadline)
            ready, _, _ = select.select([fd], [], [], wait)
            if not ready:
                raise LinkTimeout(f"{self.url}: nothing arrived before the deadline")
            try:
                data = os.read(fd, max_bytes)
            except BlockingIOError:
                continue
            except OSError as exc:
                self.close()
                if exc.errno == errno.EIO:
                    raise LinkClosed(f"{self.url}: the device went away (EIO)") from None
                raise LinkClosed(f"{self.url}: read failed: {_why(exc)}") from None
            if not data:
                self.close()
                raise LinkClosed(f"{self.url}: the device went away (unplugged?)")
            return data


def _why(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    if "No such file" in text:
        return f"{text} (no such device: wrong port name, or the adapter is unplugged)"
    if "Permission denied" in text:
        return f"{text} (add the user to the 'dialout' group, or run with access to the port)"
    if "busy" in text.lower() or "Could not exclusively lock" in text:
        return f"{text} (another program holds the port)"
    return text
