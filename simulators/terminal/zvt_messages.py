"""What the simulated terminal says in ZVT: status information, receipts, totals, fault bytes.

Builders only (no I/O): the front end (``zvt_front``) decides when to send them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from paychannels.drivers.zvt.apdu import Apdu
from paychannels.drivers.zvt.bcd import bcd_encode, digits_encode
from paychannels.drivers.zvt.commands import CFG_ECR_PRINTS_PAYMENT, CFG_PRINT_LINES
from paychannels.drivers.zvt.replies import BmpValue, PrintLine, StatusInformation, TextBlock
from paychannels.drivers.zvt.tlv import Tlv
from paychannels.drivers.zvt.totals import REFUND_TOTALS, encode_individual_totals
from paychannels.simulators.terminal.core import SimTerminal
from paychannels.simulators.terminal.journal import SimTxn
from paychannels.values.money import Money

__all__ = ["DayFigures", "day_info", "garbled", "receipt_apdus", "txn_info", "unknown_apdu"]

CARD_TYPE_UNIONPAY = 0x05


def _masked(pan: str) -> str:
    return pan[:6] + "*" * (len(pan) - 10) + pan[-4:]


def txn_info(terminal: SimTerminal, txn: SimTxn, *, full_pan: bool = False) -> Apdu:
    """The ``04 0F`` of a booked transaction (the same bytes whenever it is repeated)."""
    at = datetime.fromisoformat(txn.at)
    fields: list[tuple[int, bytes | int]] = [
        (0x27, txn.result_code),
        (0x04, txn.amount),
        (0x0B, txn.trace),
        (0x0C, int(at.strftime("%H%M%S"))),
        (0x0D, int(at.strftime("%m%d"))),
        (0x22, digits_encode(txn.card if full_pan else _masked(txn.card))),
        (0x29, terminal.terminal_id),
        (0x49, txn.currency),
        (0x87, txn.receipt),
        (0x8A, CARD_TYPE_UNIONPAY),
        (0x8B, terminal.card_name.encode("ascii", "replace")),
    ]
    if txn.original_receipt is not None:
        original = terminal.journal.find(txn.original_receipt)
        if original is not None:
            fields.append((0x37, original.trace))
    return StatusInformation.build(fields).apdu()


@dataclass(frozen=True)
class DayFigures:
    """One batch's figures, the single source of the totals record and the day's receipt."""

    first: int
    last: int
    payments: int
    paid: int
    refunds: int
    refunded: int

    @classmethod
    def of(cls, closed: list[SimTxn]) -> DayFigures:
        booked = [t for t in closed if t.approved and not t.reversed]
        paid = [t.amount for t in booked if t.kind == "payment"]
        back = [t.amount for t in booked if t.kind == "refund"]
        receipts = [t.receipt for t in closed] or [0]
        return cls(min(receipts), max(receipts), len(paid), sum(paid), len(back), sum(back))

    def receipt_lines(self, currency: str) -> list[str]:
        """What the day's receipt says: the same counts and sums as the record, in yuan."""

        def plain(minor: int) -> str:
            return str(Money.of_minor(minor, currency).amount)

        return [
            f"PAYMENTS {self.payments}  {plain(self.paid)}",
            f"REFUNDS {self.refunds}  {plain(self.refunded)}",
            f"NET  {plain(self.paid - self.refunded)}",
        ]


def day_info(terminal: SimTerminal, day: DayFigures, trace: int) -> Apdu:
    """The ``04 0F`` of an end-of-day: BMP 04 the payments' total, BMP 60 the payments per card
    group, and the refunds per card group in TLV ``DF60`` (see drivers/zvt/totals.py)."""
    now = terminal.clock()
    payments = {"other": (day.payments, day.paid)}
    refunds = {"other": (day.refunds, day.refunded)}
    fields: list[tuple[int, BmpValue]] = [
        (0x27, 0),
        (0x04, day.paid),
        (0x0B, trace),
        (0x0C, int(now.strftime("%H%M%S"))),
        (0x0D, int(now.strftime("%m%d"))),
        (0x60, encode_individual_totals(day.first, day.last, payments)),
        (0x06, [Tlv(REFUND_TOTALS, encode_individual_totals(day.first, day.last, refunds))]),
    ]
    return StatusInformation.build(fields).apdu()


def _chinese(charset: str) -> bool:
    try:
        "交易".encode(charset)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def receipt_apdus(terminal: SimTerminal, lines: list[str], charset: str) -> list[Apdu]:
    """The receipt as the ECR registered for it: a text block, print lines (the last one
    marked as such, so a buffering ECR prints and cuts), or nothing."""
    if not terminal.config & CFG_ECR_PRINTS_PAYMENT:
        return []
    encoded = [line.encode(charset, errors="replace") for line in lines]
    if terminal.config & CFG_PRINT_LINES or TextBlock.CODE not in terminal.permitted:
        last = len(encoded) - 1
        return [
            PrintLine(PrintLine.LAST_LINE if i == last else 0, text).apdu()
            for i, text in enumerate(encoded)
        ]
    return [TextBlock(tuple(encoded), receipt_type=2).apdu()]


def receipt_text(terminal: SimTerminal, txn: SimTxn, charset: str) -> list[str]:
    """The receipt lines of a transaction, in Chinese too when the charset can carry it."""
    return terminal.receipt_lines(txn, chinese=_chinese(charset))


def garbled(info: Apdu) -> bytes:
    """A status information whose last BMP (a card number) claims more bytes than follow."""
    data = info.data + b"\x22\xf9\xf9" + bcd_encode(62, 1)
    return Apdu(info.cls, info.ins, data).encode()


def unknown_apdu() -> Apdu:
    """A well-formed APDU of a kind no ECR knows."""
    return Apdu(0x0F, 0x77, b"\x01\x02\x03")
