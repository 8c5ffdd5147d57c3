"""The library's exception hierarchy: every error a caller can act on has a type here.

Backend-specific failures (sqlite3, psycopg, OSError on a link, httpx) are translated into
these types in one place per layer, so callers catch ``PaychannelsError`` and its children
and never a driver's own exceptions.
"""

from __future__ import annotations

__all__ = [
    "AlreadyInDoubt",
    "AlreadyPaid",
    "AmountOverLimit",
    "ChannelError",
    "CollectorClosed",
    "ConfigurationError",
    "CurrencyMismatch",
    "IdempotencyConflict",
    "IllegalTransition",
    "InvalidAmount",
    "InvalidRequest",
    "InvalidURL",
    "JournalClosed",
    "JournalError",
    "JournalUnavailable",
    "LinkClosed",
    "LinkConnectError",
    "LinkError",
    "LinkTimeout",
    "MoneyError",
    "NotSentError",
    "OutcomeUnknownError",
    "PaychannelsError",
    "PaymentNotFound",
    "ProtocolError",
    "SchemaOutdated",
    "SchemaTooNew",
    "UnknownCurrency",
    "UnknownScheme",
    "UnsupportedOperation",
]


class PaychannelsError(Exception):
    """Base class of every error raised by paychannels."""


# -- configuration -------------------------------------------------------------------------


class ConfigurationError(PaychannelsError, ValueError):
    """A URL, option or configuration file is wrong; the message says what and where."""


class InvalidURL(ConfigurationError):
    """A channel, link or journal URL does not have the expected form."""


class UnknownScheme(ConfigurationError):
    """No channel, link or journal is registered for a URL scheme."""


# -- money and requests --------------------------------------------------------------------


class MoneyError(PaychannelsError, ValueError):
    """An amount or currency is not acceptable."""


class InvalidAmount(MoneyError):
    """An amount string is malformed or has more decimals than the currency allows."""


class UnknownCurrency(MoneyError):
    """A currency code is not an active ISO 4217 code."""


class CurrencyMismatch(MoneyError):
    """Arithmetic or comparison between amounts of different currencies."""


class InvalidRequest(PaychannelsError, ValueError):
    """A request or record failed validation; ``errors`` lists each field and what is wrong."""

    def __init__(self, message: str, errors: list[dict[str, object]] | None = None) -> None:
        super().__init__(message)
        self.errors: list[dict[str, object]] = errors or []


class AmountOverLimit(InvalidRequest):
    """The amount is over the channel's single-payment limit; nothing was written or sent."""


# -- journal -------------------------------------------------------------------------------


class JournalError(PaychannelsError):
    """The journal refused or could not perform an operation."""


class JournalUnavailable(JournalError):
    """The journal database cannot be reached or opened."""


class JournalClosed(JournalUnavailable):
    """The journal was closed; this process opens no new transaction on it."""


class CollectorClosed(PaychannelsError):
    """The Collector is closed or closing: the call was refused before anything was done."""


class SchemaTooNew(JournalError):
    """The database was migrated by a newer paychannels; upgrade the library to use it."""


class SchemaOutdated(JournalError):
    """The database schema is older than this library; run ``paychannels journal migrate``."""


class PaymentNotFound(JournalError, KeyError):
    """No payment or refund with that id or idempotency key is journaled."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "payment not found"


class IdempotencyConflict(JournalError):
    """An idempotency key was reused with a request that differs from the journaled one."""


class AlreadyInDoubt(JournalError):
    """A second attempt for an obligation while an earlier one is unresolved (UNKNOWN...)."""

    def __init__(self, message: str, payment_id: str) -> None:
        super().__init__(message)
        self.payment_id = payment_id


class AlreadyPaid(JournalError):
    """A new attempt for an obligation that a payment already paid (``payment_id``).

    Pass ``PaymentRequest(pay_again=True)`` to take it deliberately once more.
    """

    def __init__(self, message: str, payment_id: str) -> None:
        super().__init__(message)
        self.payment_id = payment_id


class IllegalTransition(JournalError):
    """A state change that the payment state machine does not allow."""


# -- channels and links --------------------------------------------------------------------


class ChannelError(PaychannelsError):
    """A channel could not carry out a verb."""


class UnsupportedOperation(ChannelError):
    """The channel does not offer this verb (see its ``capabilities``)."""


class NotSentError(ChannelError):
    """Provably nothing reached the device, provider or bank: retrying with the same key is safe."""


class OutcomeUnknownError(ChannelError):
    """Something may have been sent but no trustworthy answer came back: ask for the outcome."""


class LinkError(ChannelError):
    """A byte link (serial port, TCP socket) failed."""


class LinkConnectError(LinkError, NotSentError):
    """A link could not be opened (port missing or busy, connection refused): nothing was sent."""


class LinkTimeout(LinkError):
    """Nothing (or not enough) arrived on a link before the deadline."""


class LinkClosed(LinkError):
    """The peer closed the link (EOF, reset) or the link was closed under a reader."""


class ProtocolError(ChannelError):
    """Bytes or a message that do not follow the protocol (bad frame, checksum, field)."""
