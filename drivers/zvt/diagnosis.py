"""Field diagnosis of a ZVT terminal: is it there, does it speak ZVT, will it take us?

Each check returns a ``Finding`` in plain language with what to do about it, so a person
at a hall's counter can fix the usual mistakes: a wrong port or address, wrong baud rate or
stop bits, a device speaking another protocol, ZVT switched off on the terminal, a wrong
password, a terminal that needs initialising. The checks never start a payment.
"""

from __future__ import annotations

from dataclasses import replace

from paychannels.drivers.fieldcheck import Finding, explain_serial_open, serial_ports
from paychannels.drivers.zvt.client import TerminalStatus, ZvtClient
from paychannels.drivers.zvt.codes import result_meaning
from paychannels.drivers.zvt.errors import CommandRefused
from paychannels.drivers.zvt.factory import client_from_url
from paychannels.drivers.zvt.frames import NAK
from paychannels.drivers.zvt.transport import LineStats
from paychannels.values.errors import (
    LinkConnectError,
    LinkError,
    OutcomeUnknownError,
    ProtocolError,
)
from paychannels.values.urls import parse_url

__all__ = [
    "Finding",
    "check_registration",
    "check_status",
    "explain_connect",
    "explain_silence",
    "scan_line_settings",
    "serial_ports",
]

DEFAULT_PORT = 20007


def explain_connect(url: str, exc: LinkConnectError) -> Finding:
    """Why the link did not open, and where to look."""
    text = str(exc)
    if url.startswith("zvt+serial") or url.startswith("serial"):
        return explain_serial_open(exc)
    if "refused" in text:
        port_hint = ""
        if f":{DEFAULT_PORT}" not in url:
            port_hint = f" ZVT terminals listen on port {DEFAULT_PORT} unless set otherwise."
        hint = (
            "The address answers but nothing listens on that port: check the port, and that "
            "the terminal's ECR interface (ZVT over LAN) is switched on; ports 22000 and 5001 "
            f"are other protocols.{port_hint}"
        )
        return Finding("link", False, "The terminal refused the connection.", hint)
    hint = "Check the terminal's IP address (its network menu), that it is on, and the cabling."
    return Finding("link", False, f"No connection: {text}", hint)


def _looks_like_stx_frames(sample: bytes) -> bool:
    return sample[:1] == b"\x02" and b"\x03" in sample[1:]


def explain_silence(stats: LineStats, framing: str) -> Finding:
    """No 80 00 came: tell silence, noise, NAKs and another protocol apart."""
    sample = stats.sample
    data = {"bytes_received": stats.bytes_received, "sample": sample.hex()}
    if stats.bytes_received == 0:
        where = (
            "the wrong port or device, a loose cable, or a terminal that is off"
            if framing == "serial"
            else "ZVT switched off on the terminal (firmware updates often reset it)"
        )
        hint = (
            "Switch on the ECR interface (ZVT) in the terminal's settings; check it is the "
            f"right device. The usual causes: {where}."
        )
        return Finding("protocol", False, "The terminal does not answer at all.", hint, data)
    if _looks_like_stx_frames(sample):
        hint = (
            "The device answers in STX ... ETX frames (PAX, MIS-POS or similar), not ZVT: set "
            "the terminal's cash-register protocol to ZVT, or use that protocol's channel."
        )
        return Finding("protocol", False, "The device speaks another protocol.", hint, data)
    if set(sample) <= {NAK, 0x03, 0x69} and NAK in sample:
        hint = (
            "Our frames are refused (NAK): the line settings differ, or the device expects "
            "another framing. ZVT on a serial line is 9600 baud, 8 data bits, no parity, "
            "2 stop bits; try --scan."
        )
        return Finding("protocol", False, "The device answers NAK to every frame.", hint, data)
    if framing == "serial" and (stats.noise_bytes or stats.bad_frames):
        hint = (
            "Bytes arrive but never form a ZVT frame: the baud rate or stop bits differ from "
            "the terminal's (ZVT: 9600 8N2 unless set otherwise). Run `paychannels terminal probe "
            "--scan` with the same --link to find them."
        )
        return Finding("protocol", False, "The line carries garbled bytes.", hint, data)
    hint = "Bytes arrive but are not a ZVT answer: check that the device is a ZVT terminal."
    return Finding("protocol", False, "The answer is not ZVT.", hint, data)


def check_status(client: ZvtClient) -> tuple[Finding, TerminalStatus | None]:
    """A status enquiry (no password needed): is the terminal there and ready?"""
    try:
        with client.session() as session:
            status = session.status()
    except LinkConnectError as exc:
        return explain_connect(client.link.url, exc), None
    except CommandRefused as exc:
        return Finding(
            "status", False, f"The terminal refused the status enquiry: {exc.text}."
        ), None
    except (OutcomeUnknownError, ProtocolError, LinkError):
        stats = client.last_transport.stats if client.last_transport else LineStats()
        return explain_silence(stats, client.framing), None
    data = {"software": status.software, "status": status.code, "terminal_id": status.terminal_id}
    if status.ready:
        text = f"Terminal {status.terminal_id or '?'} is ready ({status.software})."
        return Finding("status", True, text, data=data), status
    hint = {
        0x51: "Run the terminal's initialisation (network diagnosis) from its admin menu.",
        0x62: "Set the terminal's date and time.",
        0xCC: "Load paper / close the printer.",
        0xDC: "Remove the card from the reader.",
    }.get(status.code, "See the terminal's display or manual for this state.")
    return Finding(
        "status", False, f"The terminal is not ready: {status.text}.", hint, data
    ), status


def check_registration(client: ZvtClient) -> Finding:
    """Register with the configured password and currency, as a payment would."""
    try:
        with client.session() as session:
            session.register()
    except LinkConnectError as exc:
        return explain_connect(client.link.url, exc)
    except CommandRefused as exc:
        if exc.code == 0x6F:
            return Finding(
                "registration",
                False,
                "The terminal refused our currency.",
                "Set the channel's currency to the terminal's (currency=... in the URL).",
            )
        return Finding(
            "registration",
            False,
            f"The terminal refused the registration (84 {exc.code:02X}: {exc.text}).",
            "The password is probably wrong (it is set on the terminal; many ship with 000000 "
            "or 123456), or the terminal locks the ECR interface.",
        )
    except (OutcomeUnknownError, ProtocolError, LinkError) as exc:
        return Finding("registration", False, f"The registration got no answer: {exc}.")
    return Finding("registration", True, "Registered: the terminal accepts our commands.")


def scan_line_settings(url: str, *, password: object) -> Finding:
    """Serial only: try the usual baud rates and stop bits until the terminal answers."""
    parsed = parse_url(url, what="ZVT URL")
    for baud in (9600, 19200, 38400, 57600, 115200):
        for stopbits in ("2", "1"):
            # short timers: a wrong setting shows at once as silence or garbage
            query = {**parsed.query, "baudrate": str(baud), "stopbits": stopbits}
            query.update(t3="0.5", t2="0.3")
            candidate = replace(parsed, query=query)
            client, _ = client_from_url(candidate, password=password)
            finding, _status = check_status(client)
            if finding.ok:
                return Finding(
                    "scan",
                    True,
                    f"The terminal answers at {baud} baud, 8 data bits, no parity, "
                    f"{stopbits} stop bit{'' if stopbits == '1' else 's'}.",
                    f"Use baudrate={baud}&stopbits={stopbits} in the channel URL.",
                    {"baudrate": baud, "stopbits": stopbits},
                )
    return Finding(
        "scan",
        False,
        "No usual line setting made the terminal answer.",
        "Check the cable (a null-modem cable may be needed) and that ZVT is switched on.",
    )


def abort_text(code: int) -> str:
    """A terminal's abort code in words, for the field tool's output."""
    return result_meaning(code).detail
