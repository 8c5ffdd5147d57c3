"""Payers' wallets at the simulated provider: balances, one-time payment codes, a password step.

A payer opens a wallet with a balance and shows a payment code (付款码) the wallet issues:
one-time, valid for ``ttl`` seconds, kept here only as a digest. A scanned code is redeemed
once (a second scan is refused as used, a late one as expired). ``password_seconds`` is the
payer's confirmation step: 0 pays at once, a delay keeps the trade waiting (WAIT_BUYER_PAY)
that long, None never confirms (the payer walked away). Every debit and credit is written
with the order it belongs to, so a test can compare a journal with what the payers lost.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

__all__ = ["CodeRefused", "IssuedCode", "Wallet", "Wallets"]

#: the leading digits a provider's codes start with (Alipay 25-30, WeChat Pay 10-15)
_HEADS = {"alipay": ("25", "26", "27", "28", "29", "30"), "wechatpay": ("10", "11", "12", "13")}
_LENGTH = {"alipay": 18, "wechatpay": 18}


class CodeRefused(Exception):
    """A scanned code the wallet will not pay with: ``why`` is unknown, expired or used."""

    def __init__(self, why: str) -> None:
        super().__init__(f"payment code {why}")
        self.why = why


@dataclass
class Wallet:
    """One payer's wallet."""

    buyer_id: str
    balance_minor: int
    password_seconds: float | None = 0.0
    #: (order number, +credit / -debit) in the order they happened
    moves: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class IssuedCode:
    """A code a wallet issued (its digits are not kept)."""

    digest: str
    wallet: Wallet
    provider: str
    expires: datetime
    used_by: str | None = None


def _digest(code: str) -> str:
    return hashlib.sha256(b"sim-code\x00" + code.encode("ascii")).hexdigest()


class Wallets:
    """Every payer's wallet and the codes they showed; thread-safe."""

    def __init__(self, *, code_ttl: float = 60.0) -> None:
        self.code_ttl = code_ttl
        self._wallets: dict[str, Wallet] = {}
        self._codes: dict[str, IssuedCode] = {}
        self._lock = threading.RLock()
        #: called with ("debit" | "credit", order number) right after money moved
        self.watchers: list[Callable[[str, str], None]] = []

    def open(self, balance_minor: int, *, password_seconds: float | None = 0.0) -> Wallet:
        """A new payer with ``balance_minor`` in the wallet."""
        buyer = "2088" + "".join(secrets.choice("0123456789") for _ in range(12))
        wallet = Wallet(buyer, balance_minor, password_seconds)
        with self._lock:
            self._wallets[buyer] = wallet
        return wallet

    def issue(self, wallet: Wallet, provider: str = "alipay", *, ttl: float | None = None) -> str:
        """A fresh one-time code for ``wallet`` (the digits go to the caller only)."""
        head = secrets.choice(_HEADS[provider])
        rest = "".join(secrets.choice("0123456789") for _ in range(_LENGTH[provider] - 2))
        code = head + rest
        life = timedelta(seconds=self.code_ttl if ttl is None else ttl)
        with self._lock:
            self._codes[_digest(code)] = IssuedCode(
                _digest(code), wallet, provider, datetime.now(UTC) + life
            )
        return code

    def redeem(self, code: str, provider: str, order_number: str) -> Wallet:
        """The wallet behind a scanned code, marking it used; ``CodeRefused`` otherwise."""
        with self._lock:
            issued = self._codes.get(_digest(code))
            if issued is None or issued.provider != provider:
                raise CodeRefused("unknown")
            if issued.used_by is not None:
                raise CodeRefused("used")
            if datetime.now(UTC) > issued.expires:
                raise CodeRefused("expired")
            issued.used_by = order_number
            return issued.wallet

    def debit(self, wallet: Wallet, amount_minor: int, order_number: str) -> bool:
        """Take ``amount_minor`` for an order; False when the balance is short."""
        with self._lock:
            if wallet.balance_minor < amount_minor:
                return False
            wallet.balance_minor -= amount_minor
            wallet.moves.append((order_number, -amount_minor))
        self._wrote("debit", order_number)
        return True

    def credit(self, wallet: Wallet, amount_minor: int, order_number: str) -> None:
        """Give ``amount_minor`` back for an order."""
        with self._lock:
            wallet.balance_minor += amount_minor
            wallet.moves.append((order_number, amount_minor))
        self._wrote("credit", order_number)

    def payer_of(self, buyer_id: str) -> Wallet | None:
        """A wallet by its buyer id."""
        with self._lock:
            return self._wallets.get(buyer_id)

    def net(self, order_number: str) -> int:
        """What the payers are out for an order: debits minus credits (0: nothing or returned)."""
        with self._lock:
            return -sum(
                delta
                for wallet in self._wallets.values()
                for number, delta in wallet.moves
                if number == order_number
            )

    def debits(self, order_number: str) -> int:
        """How many times a wallet was debited for an order (2 means charged twice)."""
        with self._lock:
            return sum(
                1
                for wallet in self._wallets.values()
                for number, delta in wallet.moves
                if number == order_number and delta < 0
            )

    def _wrote(self, what: str, order_number: str) -> None:
        for watcher in list(self.watchers):
            watcher(what, order_number)
