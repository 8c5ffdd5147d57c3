"""The payers' wallets behind the simulated payment codes (付款码).

A payer has a balance and a habit: how long they take to enter the password after the clerk
scans (``confirm_after`` seconds; None: they walk away and never confirm). Each code is
issued fresh, expires after ``code_ttl`` seconds and pays once, as at the real providers.
``balance`` and ``ledger`` are the truth the crash tests compare the journal with.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["CodeRefused", "Wallet", "Wallets"]

_PREFIX = {"wechatpay": "13", "alipay": "28"}


class CodeRefused(Exception):
    """A code that cannot pay: ``kind`` is ``invalid``, ``expired`` or ``used``."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass
class Wallet:
    """One payer's money (fen) and how they confirm."""

    payer: str
    balance_minor: int
    confirm_after: float | None = 0.0
    #: every movement: ("charge" | "return", order number, fen)
    ledger: list[tuple[str, str, int]] = field(default_factory=list)


@dataclass
class _Code:
    payer: str
    provider: str
    expires: float
    used: bool = False


class Wallets:
    """Wallets and the one-time codes they show (thread-safe)."""

    def __init__(
        self, *, code_ttl: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.code_ttl = code_ttl
        self.clock = clock
        self._wallets: dict[str, Wallet] = {}
        self._codes: dict[str, _Code] = {}
        self._lock = threading.RLock()

    def open(self, payer: str, balance_minor: int, *, confirm_after: float | None = 0.0) -> Wallet:
        """A payer with ``balance_minor`` fen who confirms after ``confirm_after`` s."""
        with self._lock:
            wallet = Wallet(payer, balance_minor, confirm_after)
            self._wallets[payer] = wallet
            return wallet

    def wallet(self, payer: str) -> Wallet:
        """The payer's wallet (KeyError if none)."""
        with self._lock:
            return self._wallets[payer]

    def all(self) -> list[Wallet]:
        """Every wallet."""
        with self._lock:
            return list(self._wallets.values())

    def code(self, payer: str, provider: str = "wechatpay") -> str:
        """A fresh one-time code of ``payer`` for ``provider`` (18 digits, the right prefix)."""
        with self._lock:
            if payer not in self._wallets:
                raise KeyError(payer)
            while True:
                digits = _PREFIX[provider] + "".join(
                    secrets.choice("0123456789") for _ in range(16)
                )
                if digits not in self._codes:
                    break
            self._codes[digits] = _Code(payer, provider, self.clock() + self.code_ttl)
            return digits

    def expire(self, digits: str) -> None:
        """Let a code expire now (the payer left the screen open too long)."""
        with self._lock:
            self._codes[digits].expires = self.clock() - 1.0

    def redeem(self, digits: str, provider: str) -> Wallet:
        """Use a code once: its payer's wallet, or ``CodeRefused``."""
        with self._lock:
            code = self._codes.get(digits)
            if code is None or code.provider != provider:
                raise CodeRefused("invalid")
            if code.used:
                raise CodeRefused("used")
            if self.clock() > code.expires:
                raise CodeRefused("expired")
            code.used = True
            return self._wallets[code.payer]

    def charge(self, payer: str, number: str, amount_minor: int) -> bool:
        """Take ``amount_minor``; False (nothing taken) when the balance is short."""
        with self._lock:
            wallet = self._wallets[payer]
            if wallet.balance_minor < amount_minor:
                return False
            wallet.balance_minor -= amount_minor
            wallet.ledger.append(("charge", number, amount_minor))
            return True

    def give_back(self, payer: str, number: str, amount_minor: int) -> None:
        """Return money taken for ``number`` (a reverse of a paid order)."""
        with self._lock:
            wallet = self._wallets[payer]
            wallet.balance_minor += amount_minor
            wallet.ledger.append(("return", number, amount_minor))

    def net_taken(self, number: str) -> int:
        """What the payers are out for order ``number``: charges minus returns."""
        with self._lock:
            total = 0
            for wallet in self._wallets.values():
                for kind, no, amount in wallet.ledger:
                    if no == number:
                        total += amount if kind == "charge" else -amount
            return total

    def charges(self, number: str) -> int:
        """How often money was taken for order ``number``."""
        with self._lock:
            return sum(
                1 for w in self._wallets.values() for k, no, _ in w.ledger
                if k == "charge" and no == number
            )  # fmt: skip
