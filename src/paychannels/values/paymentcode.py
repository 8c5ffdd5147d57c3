"""Payment codes (付款码): the short-lived bearer token a payer shows and a clerk scans.

Whoever holds the digits can take money from the payer's wallet until the code expires, so
a ``PaymentCode`` never shows them: ``repr``/``str`` give the masked form, equality and
hashing go by a salted digest, errors quote only the length. ``reveal()`` is the one way to
the digits, for the request that goes on the wire. The provider is told by the documented
prefixes: WeChat Pay 18 digits starting 10-15, Alipay 16-24 digits starting 25-30.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

from paychannels.values.errors import InvalidRequest

__all__ = ["InvalidPaymentCode", "PaymentCode", "Provider"]

Provider = Literal["wechatpay", "alipay"]

#: the digest's domain prefix: a payment code's digest is never another value's digest
_DOMAIN = b"paychannels/payment-code/v1\x00"
_MAX_SHOWN = 64  # longer text is not looked at digit by digit


class InvalidPaymentCode(InvalidRequest):
    """A scanned text that is no payment code of a known provider (never quoted in full)."""


def _describe(text: str) -> str:
    """What is wrong, in words that never give the digits away."""
    if len(text) > _MAX_SHOWN:
        return f"{len(text)} characters, too long for a payment code"
    if not text:
        return "it is empty"
    if not (text.isascii() and text.isdigit()):
        return f"{len(text)} characters, not all ASCII digits (spaces and signs are refused)"
    return f"{len(text)} digits starting {text[:1]}…: no provider issues such a code"


def _provider(digits: str) -> Provider | None:
    head = int(digits[:2])
    if len(digits) == 18 and 10 <= head <= 15:
        return "wechatpay"
    if 16 <= len(digits) <= 24 and 25 <= head <= 30:
        return "alipay"
    return None


class PaymentCode:
    """One scanned payment code; the digits stay inside (see the module doc)."""

    __slots__ = ("_digest", "_digits", "_provider")

    def __init__(self, digits: str, provider: Provider) -> None:
        self._digits = digits
        self._provider: Provider = provider
        self._digest = hashlib.sha256(_DOMAIN + digits.encode("ascii")).hexdigest()

    @classmethod
    def parse(cls, text: str) -> PaymentCode:
        """The code in ``text`` (ASCII digits only), or ``InvalidPaymentCode``."""
        if not isinstance(text, str):
            raise InvalidPaymentCode(f"a payment code is text, not {type(text).__name__}")
        if len(text) <= _MAX_SHOWN and text.isascii() and text.isdigit() and len(text) >= 2:
            provider = _provider(text)
            if provider is not None:
                return cls(text, provider)
        raise InvalidPaymentCode(f"not a WeChat Pay or Alipay payment code ({_describe(text)})")

    @property
    def provider(self) -> Provider:
        """Who issued the code: ``wechatpay`` or ``alipay``."""
        return self._provider

    @property
    def masked(self) -> str:
        """First 2 and last 4 digits, the rest ``*``: what a receipt or screen may show."""
        d = self._digits
        return d[:2] + "*" * (len(d) - 6) + d[-4:]

    @property
    def digest(self) -> str:
        """Hex SHA-256 of the digits under a domain prefix: idempotency and fingerprints."""
        return self._digest

    def reveal(self) -> str:
        """The digits, for the provider request only: never log, store or show them."""
        return self._digits

    def __repr__(self) -> str:
        return f"PaymentCode({self._provider}, {self.masked})"

    def __str__(self) -> str:
        return self.masked

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PaymentCode):
            return NotImplemented
        return self._digest == other._digest

    def __hash__(self) -> int:
        return hash(self._digest)

    def __reduce__(self) -> tuple[Any, ...]:
        raise TypeError("a payment code is not pickled: it would write the digits out")

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        """A model field takes a ``PaymentCode`` or the scanned text; it dumps masked."""
        return core_schema.no_info_plain_validator_function(
            _validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda code: code.masked, when_used="always"
            ),
        )


def _validate(value: object) -> PaymentCode:
    if isinstance(value, PaymentCode):
        return value
    if isinstance(value, str):
        try:
            return PaymentCode.parse(value)
        except InvalidPaymentCode as exc:
            raise ValueError(str(exc)) from None
    raise ValueError(f"a payment code is text, not {type(value).__name__}")
