"""ZVT (ZVT-Kassenschnittstelle) for POS terminals on a serial line or the LAN.

Layers, from the wire up: ``frames`` (serial DLE STX ... DLE ETX + CRC-16/KERMIT) and
``apdu`` (TCP reassembly) under ``transport`` (ACK/NAK, T1/T2, resends); the codec
``bcd``/``tlv``/``bmp`` under ``commands`` (ECR -> terminal) and ``replies`` (terminal ->
ECR); ``dialogue`` (T3/T4, acknowledging every message); ``client`` (sessions,
registration); ``book`` (identifying in-doubt attempts) and ``channel`` (the
``TerminalChannel`` adapter). Facts and sources: ../shared/reference/terminals.md;
usage: docs/channels/zvt.md.
"""

from __future__ import annotations

from paychannels.drivers.zvt.channel import ReversalRefused, TerminalChannel, TerminalEvent
from paychannels.drivers.zvt.client import ClientConfig, Session, TerminalStatus, ZvtClient
from paychannels.drivers.zvt.dialogue import Dialogue, Exchange, Timers
from paychannels.drivers.zvt.errors import (
    CommandRefused,
    DialogueBroken,
    DialogueTimeout,
    FrameRejected,
    NoAcknowledgement,
    ZvtProtocolError,
)
from paychannels.drivers.zvt.factory import client_from_url, from_url
from paychannels.drivers.zvt.totals import DayTotals

__all__ = [
    "ClientConfig",
    "CommandRefused",
    "DayTotals",
    "Dialogue",
    "DialogueBroken",
    "DialogueTimeout",
    "Exchange",
    "FrameRejected",
    "NoAcknowledgement",
    "ReversalRefused",
    "Session",
    "TerminalChannel",
    "TerminalEvent",
    "TerminalStatus",
    "Timers",
    "ZvtClient",
    "ZvtProtocolError",
    "client_from_url",
    "from_url",
]
