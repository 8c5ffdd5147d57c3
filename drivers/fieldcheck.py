"""What field probes report: a ``Finding`` in plain language, and what the machine has.

Shared by the ZVT and MIS-POS probes (``paychannels terminal status|probe``): each check
says what it saw and, when it is a problem, what a person at the counter should do.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from serial.tools import list_ports

from paychannels.values.errors import LinkConnectError

__all__ = ["Finding", "explain_serial_open", "serial_ports"]


@dataclass(frozen=True)
class Finding:
    """One result of a check: what was seen and, if it is a problem, what to do."""

    check: str
    ok: bool
    text: str
    hint: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def serial_ports() -> list[str]:
    """Serial ports this machine has (USB adapters included)."""
    return sorted(p.device for p in list_ports.comports())


def explain_serial_open(exc: LinkConnectError) -> Finding:
    """Why a serial port did not open, and where to look."""
    text = str(exc)
    ports = serial_ports()
    listed = ", ".join(ports) if ports else "none found"
    if "no such device" in text:
        hint = f"Check the port name. Serial ports on this machine: {listed}."
    elif "Permission denied" in text:
        hint = "Give this user access to the port (Linux: the 'dialout' group), then log in again."
    elif "another program" in text:
        hint = "Close the other program using the port (a second cash-register program?)."
    else:
        hint = f"Check the cable and the adapter. Serial ports on this machine: {listed}."
    return Finding("link", False, f"The serial port cannot be opened: {text}", hint)
