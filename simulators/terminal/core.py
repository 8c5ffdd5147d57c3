"""The simulated terminal itself, independent of any wire protocol.

Amount entry comes from the ECR; the terminal asks for the card, then the PIN, asks the
bank, books the result in its journal and reports it. What the cardholder and the bank do
is scripted (``script``). A front end (ZVT over TCP or a pty here; nexo over HTTP later)
drives a transaction through the ``Front`` it passes in: ``show`` a status to the ECR,
``wait`` while the cardholder acts (raising ``Interrupted`` if the ECR aborts, the link
drops or the power goes). Power cycles forget the registration and any unfinished
transaction, never the journal.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from paychannels.security.masking import mask_pan
from paychannels.simulators.terminal.journal import SimJournal, SimTxn
from paychannels.simulators.terminal.script import Script, ScriptBook
from paychannels.values.currencies import currency as find_currency
from paychannels.values.money import Money

__all__ = ["LINE_MODES", "LINE_MODE_ALIASES", "Booking", "Front", "Interrupted", "SimTerminal"]

INSERT_CARD, ENTER_PIN, ASK_HOST, PLEASE_WAIT = 0x0A, 0x01, 0x04, 0x0E
#: how the terminal takes its line: ``normal`` speaks the front's protocol (ZVT or MIS-POS)
LINE_MODES: dict[str, str] = {
    "normal": "the terminal speaks its front's protocol (ZVT, MIS-POS)",
    "mute": "the protocol switched off on the terminal: nothing answers",
    "other_protocol": "the device answers in STX ... ETX frames (another cash-register protocol)",
    "noise": "what a wrong baud rate or stop bits look like: every byte mangled",
}
#: older names still taken (``zvt`` was ``normal`` before MIS-POS fronts shared the modes)
LINE_MODE_ALIASES = {"zvt": "normal"}


class Interrupted(Exception):
    """A transaction stopped before booking: ``reason`` is abort, link or power."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Front(Protocol):
    """What the terminal core needs from a front end during a transaction."""

    def show(self, code: int) -> None:
        """Tell the ECR what the terminal displays (an intermediate status)."""
        ...

    def wait(self, seconds: float) -> None:
        """Let cardholder time pass; raise ``Interrupted`` if the ECR aborts or the link goes."""
        ...


@dataclass(frozen=True)
class Booking:
    """How a transaction ended: booked (with its journal entry) or aborted before the bank."""

    result_code: int
    txn: SimTxn | None = None

    @property
    def approved(self) -> bool:
        return self.txn is not None and self.result_code == 0


class SimTerminal:
    """A payment terminal with a scriptable cardholder and bank; see the module docstring."""

    def __init__(
        self,
        *,
        currency: str = "CNY",
        terminal_id: int = 29001234,
        password: int = 0,
        card: str = "6222021234567890123",
        card_name: str = "UnionPay",
        journal: SimJournal | None = None,
        clock: Callable[[], datetime] | None = None,
        software: str = "paychannels-sim 1.0",
    ) -> None:
        self.currency = find_currency(currency)
        self.terminal_id = terminal_id
        self.password = password
        self.card = card
        self.card_name = card_name
        self.software = software
        self.journal = journal or SimJournal()
        self.scripts = ScriptBook()
        self.clock = clock or datetime.now
        self.busy = threading.Lock()
        self.registered = False
        self.config = 0
        self.permitted: frozenset[bytes] = frozenset()
        self.status_code = 0
        self._line_mode = "normal"
        self.powered = True
        #: connected to its cloud (nexo): off, the cloud rejects what it cannot deliver
        self.online = True
        self.power_listeners: list[Callable[[bool], None]] = []
        self.log: deque[str] = deque(maxlen=200)
        self._tag: str | None = None
        self._lock = threading.Lock()

    @property
    def line_mode(self) -> str:
        """How the terminal takes its line now (one of ``LINE_MODES``)."""
        return self._line_mode

    @line_mode.setter
    def line_mode(self, mode: str) -> None:
        mode = LINE_MODE_ALIASES.get(mode, mode)
        if mode not in LINE_MODES:
            raise ValueError(f"line mode must be one of {', '.join(LINE_MODES)}, not {mode!r}")
        self._line_mode = mode

    # -- scripting and truth ---------------------------------------------------------------

    def tag_next(self, tag: str) -> None:
        """Label the next booking command this terminal receives (tests' ground truth).

        One slot, not a queue: one command is in flight per terminal, and a label whose
        command never arrived (a mute terminal) must not stick to the next one.
        """
        with self._lock:
            self._tag = tag

    def take(self, kind: str, amount: int | None) -> tuple[Script, str | None]:
        """The script and label for a booking command that just arrived."""
        with self._lock:
            tag, self._tag = self._tag, None
        return self.scripts.take(kind, amount), tag

    def note(self, text: str) -> None:
        self.log.append(f"{self.clock().isoformat(timespec='seconds')} {text}")

    def truth(self) -> dict[str, Any]:
        """Everything a test or rehearsal may check: journal, totals, state."""
        return {
            "terminal_id": self.terminal_id,
            "currency": self.currency.code,
            "registered": self.registered,
            "powered": self.powered,
            "line_mode": self.line_mode,
            "online": self.online,
            "status_code": self.status_code,
            "journal": self.journal.to_json(),
            "charges": self.journal.charges(),
            "scripts": self.scripts.pending(),
            "log": list(self.log),
        }

    # -- administration --------------------------------------------------------------------

    def check_password(self, password: int) -> bool:
        return password == self.password

    def register(
        self, password: int, config: int, currency: int | None, permitted: frozenset[bytes]
    ) -> int:
        """Registration: 0 if accepted, else the refusal code (wrong password, wrong currency)."""
        if not self.check_password(password):
            self.note("registration refused: wrong password")
            return 0x83
        if currency is not None and currency != self.currency.numeric:
            self.note(f"registration refused: currency {currency}")
            return 0x6F
        self.registered, self.config, self.permitted = True, config, permitted
        self.note(f"registered, config {config:02X}")
        return 0

    def power_cycle(self, off_for: float) -> None:
        """Lose power now and come back after ``off_for`` seconds (registration forgotten)."""
        self.powered = False
        self.registered = False
        self.note(f"power lost for {off_for:g} s")
        for listener in list(self.power_listeners):
            listener(False)

        def back() -> None:
            self.powered = True
            self.note("power back")
            for listener in list(self.power_listeners):
                listener(True)

        timer = threading.Timer(off_for, back)
        timer.daemon = True
        timer.start()

    # -- transactions ----------------------------------------------------------------------

    def _cardholder(self, front: Front, script: Script, *, pin: bool = True) -> str | None:
        """Card, then PIN; None if the cardholder aborted at the card prompt."""
        front.show(INSERT_CARD)
        front.wait(script.card_delay)
        if script.outcome == "cardholder_abort":
            return None
        if pin:
            front.show(ENTER_PIN)
            front.wait(script.pin_delay)
        return script.card or self.card

    def _bank(self, front: Front, script: Script) -> int:
        if script.outcome == "pin_timeout":  # the PIN never came: the bank is not asked
            return script.code
        front.show(ASK_HOST)
        front.wait(script.host_delay)
        return script.code

    def authorize(
        self,
        front: Front,
        amount: int,
        *,
        last_receipt: int | None,
        script: Script,
        tag: str | None,
    ) -> Booking:
        """A payment: card, PIN, bank; booked with a receipt number unless aborted first."""
        if last_receipt is not None:
            self._implicit_reversal(last_receipt)
        card = self._cardholder(front, script)
        if card is None:
            self.note(f"payment {amount}: cardholder aborted")
            return Booking(0x6C)
        return self._book("payment", amount, self._bank(front, script), card, tag)

    def refund(
        self,
        front: Front,
        amount: int,
        *,
        script: Script,
        tag: str | None,
        original_receipt: int | None = None,
    ) -> Booking:
        """A refund to the card presented (of the payment ``original_receipt``, if named)."""
        card = self._cardholder(front, script, pin=False)
        if card is None:
            return Booking(0x6C)
        code = self._bank(front, script)
        return self._book("refund", amount, code, card, tag, original_receipt=original_receipt)

    def reverse(self, front: Front, receipt: int, *, script: Script, tag: str | None) -> Booking:
        """Reverse the payment with ``receipt`` in the open batch."""
        original = self.journal.find(receipt)
        if original is None or original.kind != "payment" or not original.approved:
            return Booking(0xB5)
        if original.reversed:
            return Booking(0xB4)
        front.show(PLEASE_WAIT)
        front.wait(script.host_delay)
        booking = self._book(
            "reversal", original.amount, script.code, original.card, tag, original_receipt=receipt
        )
        if booking.approved:
            self.journal.mark_reversed(original)
        return booking

    def _book(
        self, kind: str, amount: int, code: int, card: str, tag: str | None, **extra: Any
    ) -> Booking:
        """Book a transaction that reached the bank (approved or not) in the journal."""
        at = self.clock().isoformat(timespec="seconds")
        txn = self.journal.book(
            kind=kind,
            amount=amount,
            currency=self.currency.numeric,
            result_code=code,
            card=card,
            at=at,
            tag=tag,
            **extra,
        )
        self.note(f"{kind} {amount}: receipt {txn.receipt}, result {code:02X}")
        return Booking(code, txn)

    def _implicit_reversal(self, echoed: int) -> None:
        """terminals.md §4: an echoed last receipt one behind ours reverses our last payment."""
        last = self.journal.last()
        if last is None or echoed % 9999 + 1 != last.receipt:
            return
        if last.kind == "payment" and last.approved and not last.reversed:
            self.journal.mark_reversed(last, implicitly=True)
            self.note(f"payment {last.receipt} reversed implicitly (ECR echoed {echoed})")

    def end_of_day(self) -> list[SimTxn]:
        """Close the batch; its transactions (for the totals)."""
        closed = self.journal.close_batch()
        self.note(f"end of day: {len(closed)} transactions")
        return closed

    def receipt_lines(self, txn: SimTxn, *, chinese: bool) -> list[str]:
        """The customer receipt of a transaction (Chinese when the charset can carry it)."""
        money = Money.of_minor(txn.amount, self.currency.code)
        title = {
            "payment": ("PAYMENT", "消费"),
            "refund": ("REFUND", "退货"),
            "reversal": ("REVERSAL", "撤销"),
        }
        en, zh = title[txn.kind]
        verdict = (
            ("APPROVED", "交易成功")
            if txn.approved
            else (f"DECLINED {txn.result_code:02X}", "交易失败")
        )
        return [
            "PAYCHANNELS SIM TERMINAL",
            f"{zh} {en}" if chinese else en,
            f"TID {self.terminal_id:08d}",
            f"DATE {txn.at.replace('T', ' ')}",
            f"RECEIPT {txn.receipt:04d}  TRACE {txn.trace:06d}",
            f"CARD {mask_pan(txn.card)} {self.card_name}",
            f"AMOUNT {money.currency.code} {money.to_decimal_string()}",
            f"{verdict[1]} {verdict[0]}" if chinese else verdict[0],
        ]
