"""Hall scanners: codes one per line from a serial port (a real pty through pyserial) or stdin.

CR, LF and CRLF end a line (a CRLF split across reads is one end); a line that is no code is
an ``UnreadableScan`` naming the line and never the digits, and reading goes on; an endless
line is dropped at ``MAX_LINE``; nothing read in time is a ``LinkTimeout``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from paychannels.links.scanner import MAX_LINE, Scanner, UnreadableScan, open_scanner
from paychannels.values.errors import InvalidURL, LinkTimeout
from paychannels.values.paymentcode import PaymentCode

WX = "134567890123456789"
ALI = "28765432109876543210"


def test_codes_from_a_serial_scanner_with_any_line_end(pty_pair: tuple[int, str]) -> None:
    master, device = pty_pair
    with open_scanner(f"serial://{device}?baudrate=9600") as scanner:
        os.write(master, f"{WX}\r\n{ALI}\r".encode())
        first = scanner.read(timeout=2)
        second = scanner.read(timeout=2)
        os.write(master, f"\n{WX[:-1]}7\n".encode())  # the LF of the CRLF comes late
        third = scanner.read(timeout=2)
        with pytest.raises(LinkTimeout):
            scanner.read(timeout=0.2)
    assert [c.provider for c in (first, second, third) if c] == ["wechatpay", "alipay", "wechatpay"]
    assert first == PaymentCode.parse(WX) and third == PaymentCode.parse(WX[:-1] + "7")
    assert scanner.lines == 3  # the late LF made no empty scan


def test_a_bad_line_is_named_without_its_digits_and_reading_goes_on(
    pty_pair: tuple[int, str],
) -> None:
    master, device = pty_pair
    secret = "1345678901234567"  # 16 digits: no provider's code
    with open_scanner(f"serial://{device}") as scanner:
        os.write(master, f"{secret}\n{'9' * (MAX_LINE * 3)}\n{WX} \n{WX}\n".encode())
        errors: list[UnreadableScan] = []
        code = None
        deadline = time.monotonic() + 5
        while code is None and time.monotonic() < deadline:
            try:
                code = scanner.read(timeout=2)
            except UnreadableScan as exc:
                errors.append(exc)
    assert code == PaymentCode.parse(WX)
    assert [e.line for e in errors] == [1, 2, 3]
    assert "line 1" in str(errors[0]) and device in str(errors[0])
    assert f"longer than {MAX_LINE}" in str(errors[1])
    assert "not all ASCII digits" in str(errors[2])
    for e in errors:
        assert secret not in str(e) and WX not in str(e) and "9999999" not in str(e)


def test_codes_typed_into_standard_input_until_it_ends() -> None:
    # a scanner in keyboard mode: a real child process reading its stdin
    script = (
        "from paychannels.links.scanner import open_scanner\n"
        "for item in open_scanner('-'):\n"
        "    print(type(item).__name__, getattr(item, 'provider', ''), item)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        input=f"{WX}\r\nhello\n{ALI}\n{WX}".encode(),  # the last line has no end
        capture_output=True,
        timeout=30,
        check=True,
    )
    out = proc.stdout.decode().splitlines()
    assert [line.split()[0] for line in out] == [
        "PaymentCode", "UnreadableScan", "PaymentCode", "PaymentCode",
    ]  # fmt: skip
    assert out[0].split()[1] == "wechatpay" and out[2].split()[1] == "alipay"
    assert WX not in proc.stdout.decode() and ALI not in proc.stdout.decode()


def test_a_scanner_url_is_serial_or_stdin() -> None:
    with pytest.raises(InvalidURL):
        open_scanner("tcp://127.0.0.1:9")
    with pytest.raises(InvalidURL):
        open_scanner("serial:///dev/ttyACM0?speed=fast")


def test_an_ended_source_reads_none() -> None:
    r, w = os.pipe()
    os.write(w, f"{WX}\n".encode())
    os.close(w)
    with os.fdopen(r, "rb") as stream:
        scanner = open_scanner("-", stdin=stream)
        assert isinstance(scanner, Scanner)
        assert scanner.read(timeout=2) == PaymentCode.parse(WX)
        assert scanner.read(timeout=2) is None
