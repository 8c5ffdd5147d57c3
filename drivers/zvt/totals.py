"""End-of-day totals from the terminal's status information (``06 50`` answers with a ``04 0F``).

ZVT-CMD §3.1.3 (Status-Information after End-of-Day): BMP 04 is the day's total; BMP 60
("individual totals", LLLVAR) is receipt-number from, receipt-number to (2 BCD each), then
seven groups of a count (1 byte) and a turnover (6 BCD) — girocard/ec, JCB, Eurocard, Amex,
Visa, Diners, others. A BCD amount has no sign, so refunds cannot be netted into it (a
refund-only day would be negative) and the specification has no refund field: a terminal
that reports refunds sends them in the status information's TLV container (BMP 06) under the
private tag ``DF60``, in BMP 60's layout. Our simulator does; BMP 04 is then the sum of BMP 60's
turnovers (the payments) and the day's net is payments less refunds. A terminal without
``DF60`` keeps the older reading: BMP 04 is the net and refunds are BMP 60 less BMP 04. A BMP 60
of another length is kept as hex instead of being guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from paychannels.channels.base import ChannelContext
from paychannels.channels.settlement import Settlement, SettlementKind
from paychannels.drivers.zvt.bcd import bcd_decode, bcd_encode
from paychannels.drivers.zvt.dialogue import Exchange
from paychannels.drivers.zvt.errors import ZvtProtocolError
from paychannels.drivers.zvt.tlv import find
from paychannels.runtime.clock import BEIJING
from paychannels.security.masking import scrub
from paychannels.values.money import Money

__all__ = [
    "CARD_GROUPS",
    "REFUND_TOTALS",
    "DayTotals",
    "day_settlement",
    "day_totals",
    "encode_individual_totals",
    "remember_last_receipt",
]

CARD_GROUPS = ("ec", "jcb", "eurocard", "amex", "visa", "diners", "other")
_SIZE = 4 + 7 * len(CARD_GROUPS)
_FULL = 255  # a group's count is one byte: at 255 it may have stopped counting
#: TLV tag (private class) of the refund totals, in BMP 60's layout
REFUND_TOTALS = 0xDF60
#: channel state: the last receipt number of the previous end of day
LAST_DAY_KEY = "zvt.day.last_receipt"


@dataclass(frozen=True)
class DayTotals:
    """What the terminal reported when it closed the day.

    ``total``/``count``/``by_card`` are the payments (BMP 04, BMP 60); ``refunds`` the refunds
    per card group when the terminal reported them (``DF60``), else None.
    """

    total: Money | None
    count: int | None = None
    first_receipt: int | None = None
    last_receipt: int | None = None
    by_card: dict[str, tuple[int, Money]] = field(default_factory=dict)
    raw_totals: str | None = None
    receipt: tuple[str, ...] = ()
    refunds: dict[str, tuple[int, Money]] | None = None

    @property
    def refund_count(self) -> int | None:
        return None if self.refunds is None else sum(c for c, _ in self.refunds.values())

    @property
    def refund_total(self) -> Money | None:
        if self.refunds is None or self.total is None:
            return None
        minor = sum(m.minor for _, m in self.refunds.values())
        return Money.of_minor(minor, self.total.currency.code)

    @property
    def net(self) -> Money | None:
        """What the batch holds: payments less refunds (BMP 04 itself without a refund record)."""
        back = self.refund_total
        if self.total is None or back is None:
            return self.total
        return Money.of_minor(self.total.minor - back.minor, self.total.currency.code)


def encode_individual_totals(first: int, last: int, groups: dict[str, tuple[int, int]]) -> bytes:
    """BMP 60's value in the layout above (used by the simulator, and for ``DF60``)."""
    out = bcd_encode(first, 2) + bcd_encode(last, 2)
    for name in CARD_GROUPS:
        count, minor = groups.get(name, (0, 0))
        out += bytes([min(count, 255)]) + bcd_encode(minor, 6)
    return out


def _groups(raw: bytes, currency: str, what: str) -> tuple[int, int, dict[str, tuple[int, Money]]]:
    """Receipt range and the non-empty card groups of a record in BMP 60's layout."""
    try:
        first, last = bcd_decode(raw[0:2]), bcd_decode(raw[2:4])
        groups: dict[str, tuple[int, Money]] = {}
        for i, name in enumerate(CARD_GROUPS):
            at = 4 + 7 * i
            count = raw[at]
            if count:
                groups[name] = (count, Money.of_minor(bcd_decode(raw[at + 1 : at + 7]), currency))
    except ZvtProtocolError as exc:
        raise ZvtProtocolError(f"end-of-day {what}: {exc}", field=what) from None
    return first, last, groups


def day_totals(exchange: Exchange, currency: str) -> DayTotals:
    """Totals from an end-of-day exchange (``ZvtProtocolError`` if its BMPs are malformed)."""
    lines = tuple(scrub(line) for line in exchange.receipt)
    info = exchange.info
    if info is None:
        return DayTotals(None, receipt=lines)
    total = info.amount
    money = Money.of_minor(total, currency) if total is not None else None
    refunds: dict[str, tuple[int, Money]] | None = None
    if 0x06 in info.bitmaps:
        record = find(info.bitmaps.tlv(), REFUND_TOTALS)
        if record is not None and len(record.value) == _SIZE:
            refunds = _groups(record.value, currency, "refund totals DF60")[2]
    raw = info.bitmaps.raw(0x60)
    if raw is None or len(raw) != _SIZE:
        raw_hex = raw.hex() if raw else None
        return DayTotals(money, raw_totals=raw_hex, receipt=lines, refunds=refunds)
    first, last, groups = _groups(raw, currency, "BMP 60")
    count = sum(c for c, _ in groups.values())
    return DayTotals(money, count, first, last, groups, raw.hex(), lines, refunds)


def day_settlement(totals: DayTotals, ctx: ChannelContext, *, last_known: int | None) -> Settlement:
    """The terminal's end of day as settlement figures for reconciliation.

    The batch is found in the journal by receipt numbers (a ZVT ``channel_ref`` is
    ``terminal/receipt/trace``): BMP 60's range when the terminal sent it, else from one
    past the previous end of day's last receipt to the last one the channel knows.
    """
    now = ctx.clock.now()
    receipts: tuple[int, int] | None = None
    if totals.first_receipt is not None and totals.last_receipt is not None:
        receipts = (totals.first_receipt, totals.last_receipt)
    elif last_known is not None:
        receipts = (_after_previous(ctx), last_known)
    counts = [count for count, _ in totals.by_card.values()]
    gross = sum(m.minor for _, m in totals.by_card.values()) if totals.by_card else None
    net = totals.total.minor if totals.total is not None else 0
    refund_count: int | None = None
    refund_minor: int | None = None if gross is None else gross - net
    if totals.refunds is not None:  # reported apart: BMP 04 is the payments' total
        back = [count for count, _ in totals.refunds.values()]
        refund_minor = sum(m.minor for _, m in totals.refunds.values())
        refund_count = sum(back) if _FULL not in back else None
        gross = net if gross is None else gross
        net = gross - refund_minor
    return Settlement(
        kind=SettlementKind.TERMINAL,
        key=now.isoformat(),
        source=f"ZVT end of day {now.astimezone(BEIJING):%Y-%m-%d %H:%M:%S} (UTC+8)",
        currency=totals.total.currency.code if totals.total is not None else "CNY",
        recorded_at=now,
        net_minor=net,
        payments=_payments(totals, counts),
        gross_minor=gross,
        refunds=refund_count,
        refund_minor=refund_minor,
        receipts=receipts,
        detail={
            "by_card": {k: [c, m.minor] for k, (c, m) in totals.by_card.items()},
            "refunds_by_card": None
            if totals.refunds is None
            else {k: [c, m.minor] for k, (c, m) in totals.refunds.items()},
            "raw_totals": totals.raw_totals,
            "total_reported": totals.total is not None,
        },
    )


def _payments(totals: DayTotals, counts: list[int]) -> int | None:
    """The payments counted, when the count can be believed (no group stopped at 255)."""
    if _FULL in counts:
        return None
    if totals.by_card:
        return sum(counts)
    return 0 if totals.refunds is not None and totals.raw_totals is not None else None


def _after_previous(ctx: ChannelContext) -> int:
    """One past the last receipt of the previous end of day this channel recorded."""
    entry = ctx.state_get(LAST_DAY_KEY)
    value = entry.value if entry is not None else None
    return value % 9999 + 1 if isinstance(value, int) else 1


def remember_last_receipt(ctx: ChannelContext, settlement: Settlement) -> None:
    """Keep the batch's last receipt: the next end of day's batch starts after it."""
    if settlement.receipts is None:
        return
    for _ in range(10):
        entry = ctx.state_get(LAST_DAY_KEY)
        version = 0 if entry is None else entry.version
        if ctx.state_put(LAST_DAY_KEY, settlement.receipts[1], expected_version=version):
            return
