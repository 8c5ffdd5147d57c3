"""paychannels: take contributions through every channel behind one payment interface.

Backends talk to a :class:`Collector`; channels (POS terminals, cloud POS, mobile-app
providers, bank batch debit) plug in behind it as adapters opened from URLs::

    import paychannels as pc
    col = pc.Collector.open("sqlite:///paychannels.db", create=True)  # the first time
    col.add_channel("hall-1", pc.open_channel("memory://"))
    p = col.collect(pc.PaymentRequest(payer_id="150422199001011234",
                                      amount=pc.Money("380.00", "CNY"),
                                      reference="2026-pension", idempotency_key="k-1"),
                    channel="hall-1")
"""

from __future__ import annotations

from paychannels._version import __version__
from paychannels.channels.base import Capabilities, Channel, ChannelContext, Notice, Reply
from paychannels.channels.memory import Behaviour, MemoryChannel
from paychannels.channels.registry import available_schemes, open_channel, register_channel
from paychannels.clock import Clock, ManualClock, SystemClock
from paychannels.collector import Collector
from paychannels.currencies import Currency, currency
from paychannels.errors import (
    AlreadyInDoubt,
    AlreadyPaid,
    ChannelError,
    CollectorClosed,
    ConfigurationError,
    CurrencyMismatch,
    IdempotencyConflict,
    IllegalTransition,
    InvalidAmount,
    InvalidRequest,
    InvalidURL,
    JournalClosed,
    JournalError,
    JournalUnavailable,
    LinkClosed,
    LinkConnectError,
    LinkError,
    LinkTimeout,
    MoneyError,
    NotSentError,
    OutcomeUnknownError,
    PaychannelsError,
    PaymentNotFound,
    ProtocolError,
    SchemaOutdated,
    SchemaTooNew,
    UnknownCurrency,
    UnknownScheme,
    UnsupportedOperation,
)
from paychannels.journal import SCHEMA_VERSION, Journal, open_journal
from paychannels.models import Event, EventType, Outcome, Payment, PaymentRequest, Record, Refund
from paychannels.money import Money
from paychannels.reasons import Reason
from paychannels.recovery import RecoveryReport
from paychannels.status import TRANSITIONS, Status

__all__ = [
    "SCHEMA_VERSION",
    "TRANSITIONS",
    "AlreadyInDoubt",
    "AlreadyPaid",
    "Behaviour",
    "Capabilities",
    "Channel",
    "ChannelContext",
    "ChannelError",
    "Clock",
    "Collector",
    "CollectorClosed",
    "ConfigurationError",
    "Currency",
    "CurrencyMismatch",
    "Event",
    "EventType",
    "IdempotencyConflict",
    "IllegalTransition",
    "InvalidAmount",
    "InvalidRequest",
    "InvalidURL",
    "Journal",
    "JournalClosed",
    "JournalError",
    "JournalUnavailable",
    "LinkClosed",
    "LinkConnectError",
    "LinkError",
    "LinkTimeout",
    "ManualClock",
    "MemoryChannel",
    "Money",
    "MoneyError",
    "NotSentError",
    "Notice",
    "Outcome",
    "OutcomeUnknownError",
    "PaychannelsError",
    "Payment",
    "PaymentNotFound",
    "PaymentRequest",
    "ProtocolError",
    "Reason",
    "Record",
    "RecoveryReport",
    "Refund",
    "Reply",
    "SchemaOutdated",
    "SchemaTooNew",
    "Status",
    "SystemClock",
    "UnknownCurrency",
    "UnknownScheme",
    "UnsupportedOperation",
    "__version__",
    "available_schemes",
    "currency",
    "open_channel",
    "open_journal",
    "register_channel",
]
