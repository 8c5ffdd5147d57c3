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
    from paychannels.collector import Collector
    from paychannels.collector.recovery import RecoveryReport
    from paychannels.journal import SCHEMA_VERSION, Journal, open_journal
    from paychannels.runtime.clock import Clock, ManualClock, SystemClock
    from paychannels.values.currencies import Currency, currency
    from paychannels.values.errors import (
        AlreadyInDoubt,
        AlreadyPaid,
        AmountOverLimit,
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
    from paychannels.values.models import (
        Event,
        EventType,
        Outcome,
        Payment,
        PaymentRequest,
        Record,
        Refund,
    )
    from paychannels.values.money import Money
    from paychannels.values.paymentcode import InvalidPaymentCode, PaymentCode
    from paychannels.values.reasons import Reason
    from paychannels.values.status import TRANSITIONS, Status


_LAZY: dict[str, str] = {
    "__version__": "paychannels._version",  # installed metadata: a tenth of the start-up
    "AlreadyInDoubt": "paychannels.values.errors",
    "AlreadyPaid": "paychannels.values.errors",
    "AmountOverLimit": "paychannels.values.errors",
    "Behaviour": "paychannels.channels.memory",
    "Capabilities": "paychannels.channels.base",
    "Channel": "paychannels.channels.base",
    "ChannelContext": "paychannels.channels.base",
    "ChannelError": "paychannels.values.errors",
    "Clock": "paychannels.runtime.clock",
    "Collector": "paychannels.collector",
    "CollectorClosed": "paychannels.values.errors",
    "ConfigurationError": "paychannels.values.errors",
    "Currency": "paychannels.values.currencies",
    "CurrencyMismatch": "paychannels.values.errors",
    "Event": "paychannels.values.models",
    "EventType": "paychannels.values.models",
    "IdempotencyConflict": "paychannels.values.errors",
    "IllegalTransition": "paychannels.values.errors",
    "InvalidAmount": "paychannels.values.errors",
    "InvalidRequest": "paychannels.values.errors",
    "InvalidPaymentCode": "paychannels.values.paymentcode",
    "PaymentCode": "paychannels.values.paymentcode",
    "InvalidURL": "paychannels.values.errors",
    "Journal": "paychannels.journal",
    "JournalClosed": "paychannels.values.errors",
    "JournalError": "paychannels.values.errors",
    "JournalUnavailable": "paychannels.values.errors",
    "LinkClosed": "paychannels.values.errors",
    "LinkConnectError": "paychannels.values.errors",
    "LinkError": "paychannels.values.errors",
    "LinkTimeout": "paychannels.values.errors",
    "ManualClock": "paychannels.runtime.clock",
    "MemoryChannel": "paychannels.channels.memory",
    "Money": "paychannels.values.money",
    "MoneyError": "paychannels.values.errors",
    "NotSentError": "paychannels.values.errors",
    "Notice": "paychannels.channels.base",
    "Outcome": "paychannels.values.models",
    "OutcomeUnknownError": "paychannels.values.errors",
    "PaychannelsError": "paychannels.values.errors",
    "Payment": "paychannels.values.models",
    "PaymentNotFound": "paychannels.values.errors",
    "PaymentRequest": "paychannels.values.models",
    "ProtocolError": "paychannels.values.errors",
    "Reason": "paychannels.values.reasons",
    "Record": "paychannels.values.models",
    "RecoveryReport": "paychannels.collector.recovery",
    "Refund": "paychannels.values.models",
    "Reply": "paychannels.channels.base",
    "SCHEMA_VERSION": "paychannels.journal",
    "SchemaOutdated": "paychannels.values.errors",
    "SchemaTooNew": "paychannels.values.errors",
    "Status": "paychannels.values.status",
    "SystemClock": "paychannels.runtime.clock",
    "TRANSITIONS": "paychannels.values.status",
    "UnknownCurrency": "paychannels.values.errors",
    "UnknownScheme": "paychannels.values.errors",
    "UnsupportedOperation": "paychannels.values.errors",
    "available_schemes": "paychannels.channels.registry",
    "currency": "paychannels.values.currencies",
    "open_channel": "paychannels.channels.registry",
    "open_journal": "paychannels.journal",
    "register_channel": "paychannels.channels.registry",
}

__all__ = [
    "SCHEMA_VERSION",
    "TRANSITIONS",
    "AlreadyInDoubt",
    "AlreadyPaid",
    "AmountOverLimit",
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
    "InvalidPaymentCode",
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
    "PaymentCode",
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
