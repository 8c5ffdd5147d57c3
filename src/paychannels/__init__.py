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

Importing the package loads nothing else: each public name is imported the first time it
is used (a module ``__getattr__``, PEP 562), so that ``paychannels --version`` and a program
that needs one name do not pay for every channel, pydantic and the journal.
"""

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:  # the names as mypy and editors see them; loaded on first use
    from paychannels._version import __version__
    from paychannels.channels.base import Capabilities, Channel, ChannelContext, Notice, Reply
    from paychannels.channels.memory import Behaviour, MemoryChannel
    from paychannels.channels.registry import available_schemes, open_channel, register_channel
    from paychannels.clock import Clock, ManualClock, SystemClock
    from paychannels.collector import Collector
    from paychannels.collector.recovery import RecoveryReport
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
    from paychannels.models import (
        Event,
        EventType,
        Outcome,
        Payment,
        PaymentRequest,
        Record,
        Refund,
    )
    from paychannels.money import Money
    from paychannels.reasons import Reason
    from paychannels.status import TRANSITIONS, Status


_LAZY: dict[str, str] = {
    "__version__": "paychannels._version",  # installed metadata: a tenth of the start-up
    "AlreadyInDoubt": "paychannels.errors",
    "AlreadyPaid": "paychannels.errors",
    "Behaviour": "paychannels.channels.memory",
    "Capabilities": "paychannels.channels.base",
    "Channel": "paychannels.channels.base",
    "ChannelContext": "paychannels.channels.base",
    "ChannelError": "paychannels.errors",
    "Clock": "paychannels.clock",
    "Collector": "paychannels.collector",
    "CollectorClosed": "paychannels.errors",
    "ConfigurationError": "paychannels.errors",
    "Currency": "paychannels.currencies",
    "CurrencyMismatch": "paychannels.errors",
    "Event": "paychannels.models",
    "EventType": "paychannels.models",
    "IdempotencyConflict": "paychannels.errors",
    "IllegalTransition": "paychannels.errors",
    "InvalidAmount": "paychannels.errors",
    "InvalidRequest": "paychannels.errors",
    "InvalidURL": "paychannels.errors",
    "Journal": "paychannels.journal",
    "JournalClosed": "paychannels.errors",
    "JournalError": "paychannels.errors",
    "JournalUnavailable": "paychannels.errors",
    "LinkClosed": "paychannels.errors",
    "LinkConnectError": "paychannels.errors",
    "LinkError": "paychannels.errors",
    "LinkTimeout": "paychannels.errors",
    "ManualClock": "paychannels.clock",
    "MemoryChannel": "paychannels.channels.memory",
    "Money": "paychannels.money",
    "MoneyError": "paychannels.errors",
    "NotSentError": "paychannels.errors",
    "Notice": "paychannels.channels.base",
    "Outcome": "paychannels.models",
    "OutcomeUnknownError": "paychannels.errors",
    "PaychannelsError": "paychannels.errors",
    "Payment": "paychannels.models",
    "PaymentNotFound": "paychannels.errors",
    "PaymentRequest": "paychannels.models",
    "ProtocolError": "paychannels.errors",
    "Reason": "paychannels.reasons",
    "Record": "paychannels.models",
    "RecoveryReport": "paychannels.collector.recovery",
    "Refund": "paychannels.models",
    "Reply": "paychannels.channels.base",
    "SCHEMA_VERSION": "paychannels.journal",
    "SchemaOutdated": "paychannels.errors",
    "SchemaTooNew": "paychannels.errors",
    "Status": "paychannels.status",
    "SystemClock": "paychannels.clock",
    "TRANSITIONS": "paychannels.status",
    "UnknownCurrency": "paychannels.errors",
    "UnknownScheme": "paychannels.errors",
    "UnsupportedOperation": "paychannels.errors",
    "available_schemes": "paychannels.channels.registry",
    "currency": "paychannels.currencies",
    "open_channel": "paychannels.channels.registry",
    "open_journal": "paychannels.journal",
    "register_channel": "paychannels.channels.registry",
}

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


# Hidden from type checkers: they read the imports above, and an unknown name stays an error.
if not _typing.TYPE_CHECKING:

    def __getattr__(name: str) -> object:
        """Import a public name on first use and keep it, so the next lookup is a plain one."""
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module 'paychannels' has no attribute {name!r}")
        value = getattr(_importlib.import_module(module), name)
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        """The loaded names and every public one, loaded or not (for ``dir()`` and completion)."""
        return sorted(set(globals()) | set(__all__))
