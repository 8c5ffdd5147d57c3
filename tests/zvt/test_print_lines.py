"""Print lines (06 D1) and the specification's attribute byte, read from bytes written by hand.

ZVT-CMD §3.4 (Print line, Table 16): bit 7 set (not 80h, not FFh) marks the last line of a
receipt, which is also where a customer receipt switches to the merchant's; ``FF n`` is n line
feeds; ``0000 nnnn`` is normal text indented n characters. The bytes below come from that
table, not from our encoder.
"""

from __future__ import annotations

import socket
import threading

from paychannels.drivers.zvt.commands import EndOfDay
from paychannels.drivers.zvt.dialogue import Dialogue, Timers
from paychannels.drivers.zvt.replies import PrintLine
from paychannels.drivers.zvt.transport import TcpTransport
from paychannels.links import open_link

#: the terminal's side of an End-of-Day with two receipts, each closed by a last line
SPEC_BYTES = [
    bytes.fromhex("800000"),
    bytes.fromhex("06d105") + b"\x00CUST",  # normal text
    bytes.fromhex("06d102") + b"\xff\x01",  # one line feed
    bytes.fromhex("06d104") + b"\x02OK\x20",  # indented two characters
    bytes.fromhex("06d104") + b"\x81END",  # the last line of the customer receipt
    bytes.fromhex("06d105") + b"\x00MERC",
    bytes.fromhex("06d105") + b"\xc1DONE",  # last line, centred bit among the don't-cares
    bytes.fromhex("060f00"),
]


def _dialogue_with(script: list[bytes]) -> tuple[Dialogue, threading.Thread, socket.socket]:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def terminal() -> None:
        peer, _ = server.accept()
        peer.settimeout(5)
        with peer:
            peer.recv(64)  # the command
            for apdu in script:
                peer.sendall(apdu)
                if apdu[:2] != b"\x80\x00":
                    peer.recv(3)  # the ECR's 80 00 00

    thread = threading.Thread(target=terminal, daemon=True)
    thread.start()
    transport = TcpTransport(open_link(f"tcp://127.0.0.1:{port}", do_not_open=True))
    transport.open()
    return Dialogue(transport, timers=Timers(t3=2, t4=5)), thread, server


def test_last_line_attribute_ends_each_receipt_and_indent_is_honoured() -> None:
    dialogue, thread, server = _dialogue_with(SPEC_BYTES)
    try:
        exchange = dialogue.run(EndOfDay(123456))
    finally:
        dialogue.transport.abandon()
        thread.join(5)
        server.close()
    assert exchange.receipt == ["CUST", "", "  OK", "END", "MERC", "DONE"]
    assert exchange.receipts() == [("CUST", "", "  OK", "END"), ("MERC", "DONE")]
    assert exchange.receipt_complete


def test_a_receipt_without_its_last_line_is_incomplete() -> None:
    script = [*SPEC_BYTES[:4], SPEC_BYTES[-1]]
    dialogue, thread, server = _dialogue_with(script)
    try:
        exchange = dialogue.run(EndOfDay(123456))
    finally:
        dialogue.transport.abandon()
        thread.join(5)
        server.close()
    assert exchange.receipts() == [("CUST", "", "  OK")]
    assert not exchange.receipt_complete


def test_attribute_meanings() -> None:
    assert PrintLine(0x81, b"X").last and PrintLine(0xC0, b"X").last
    assert not PrintLine(0x80, b"").last  # RFU
    assert not PrintLine(0xFF, b"\x02").last  # line feeds
    assert not PrintLine(0x00, b"X").last
    assert PrintLine(0x80, b"").lines("cp437") == []


def test_the_simulator_marks_the_last_line_of_each_receipt() -> None:
    from paychannels.drivers.zvt.commands import CFG_ECR_PRINTS_PAYMENT, CFG_PRINT_LINES
    from paychannels.simulators.terminal.core import SimTerminal
    from paychannels.simulators.terminal.zvt_messages import receipt_apdus

    terminal = SimTerminal()
    terminal.config = CFG_ECR_PRINTS_PAYMENT | CFG_PRINT_LINES
    apdus = receipt_apdus(terminal, ["A", "B", "C"], "cp437")
    attributes = [apdu.data[0] for apdu in apdus]
    assert attributes[:-1] == [0, 0]
    assert attributes[-1] & 0x80 and attributes[-1] not in (0x80, 0xFF)
