"""Provider bills (对账单): the provider's own list of a day's payments and refunds.

A bill is downloaded in two steps — ask where the day's file is (a signed API call), then
fetch the file — and read into a ``ProviderBill``: one line per payment or refund, with
our own id (``out_trade_no`` / ``out_refund_no``), what moved and the provider's number,
checked against the totals the bill states about itself. It becomes the channel's
settlement for that day (``paychannels.channels.settlement``), which reconciliation compares with
the journal line by line. Files are read within size limits; nothing in them is trusted
beyond what a parser of our own makes of it.
"""

from __future__ import annotations

import gzip
import io
import re
import zlib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from paychannels.channels.settlement import Settlement, SettlementItem, SettlementKind
from paychannels.values.errors import ProtocolError

__all__ = [
    "BILL_TIMEOUT",
    "MAX_BILL_BYTES",
    "BillError",
    "BillLine",
    "BillLocation",
    "ProviderBill",
    "fee_yuan",
    "gunzip_bounded",
    "gzip_bytes",
    "yuan_minor",
]

#: the largest bill (uncompressed) read: a county's busiest day is a few tens of MB
MAX_BILL_BYTES = 256 << 20
#: seconds to wait for a bill (at least): a provider puts a busy day's bill together for a
#: while before the first byte, far longer than a payment call is given
BILL_TIMEOUT = 60.0
_FEE = re.compile(r"-?(0|[1-9][0-9]{0,13})(\.[0-9]{1,5})?")
_YUAN = re.compile(r"^(-?)(0|[1-9][0-9]{0,13})(?:\.([0-9]{1,2}))?$")


class BillError(ProtocolError):
    """A bill that cannot be read or does not add up: nothing of it is recorded."""


@dataclass(frozen=True, slots=True)
class BillLocation:
    """Where a day's bill is, as the provider's signed answer said."""

    url: str
    hash_type: str | None = None
    hash_value: str | None = None
    compressed: bool = False


@dataclass(frozen=True, slots=True)
class BillLine:
    """One line of a bill."""

    record_id: str
    kind: Literal["payment", "refund"]
    minor: int
    ref: str
    at: str = ""


@dataclass(frozen=True)
class ProviderBill:
    """A day's bill, read and checked against its own totals."""

    provider: str
    day: date
    currency: str
    lines: tuple[BillLine, ...]
    source: str
    #: the provider's fees for the day (fen): deducted from what it pays into the account
    fee_minor: int = 0

    @property
    def payments(self) -> list[BillLine]:
        """The payment lines."""
        return [line for line in self.lines if line.kind == "payment"]

    @property
    def refunds(self) -> list[BillLine]:
        """The refund lines."""
        return [line for line in self.lines if line.kind == "refund"]

    def settlement(self, at: datetime) -> Settlement:
        """The bill as the channel's settlement figures for its day."""
        paid = sum(line.minor for line in self.payments)
        back = sum(line.minor for line in self.refunds)
        return Settlement(
            kind=SettlementKind.PROVIDER,
            key=self.day.isoformat(),
            source=self.source,
            currency=self.currency,
            recorded_at=at,
            net_minor=paid - back,
            payments=len(self.payments),
            gross_minor=paid,
            refunds=len(self.refunds),
            refund_minor=back,
            dates=(self.day.isoformat(),),
            items=tuple(
                SettlementItem(line.record_id, line.kind, line.minor, line.ref)
                for line in self.lines
            ),
            detail={"provider": self.provider}
            | ({"fee_minor": self.fee_minor} if self.fee_minor else {}),
        )


def yuan_minor(text: str, *, where: str) -> int:
    """``"380.00"`` / ``"-0.01"`` as integer fen, exactly; ``BillError`` otherwise."""
    m = _YUAN.match(text)
    if m is None:
        raise BillError(f"{where}: {text[:24]!r} is not an amount in yuan")
    sign, whole, frac = m.groups()
    minor = int(whole) * 100 + int((frac or "").ljust(2, "0"))
    return -minor if sign else minor


def fee_yuan(text: str, *, where: str) -> Decimal:
    """A fee in yuan with up to five decimals (``2.28000``), exactly; ``BillError``."""
    if not _FEE.fullmatch(text):
        raise BillError(f"{where}: {text[:24]!r} is not a fee in yuan")
    return Decimal(text)


def gunzip_bounded(data: bytes, *, limit: int = MAX_BILL_BYTES) -> bytes:
    """Decompress a gzip file, refusing more than ``limit`` bytes (a bomb) or garbage."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise BillError(f"the bill is not gzip data: {exc}") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise BillError(f"the bill is larger than {limit} bytes uncompressed; refused")
    if not inflater.eof:
        raise BillError("the gzip bill is truncated")
    return out


def gzip_bytes(data: bytes) -> bytes:
    """Compress (the simulator's side of ``gunzip_bounded``)."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as fh:
        fh.write(data)
    return buffer.getvalue()
