"""A feed's file: its lines, a totals line, and a SHA-256 checksum line (docs/feeds.md).

The file is a pure function of what the journal recorded for the feed, the format, the
encoding and the pseudonym key: made again it is byte for byte the same. The checksum
is SHA-256 over every byte of the file before the checksum line (column header, lines,
totals line), in the file's encoding. CSV cells pass the library's one CSV writer
(formulas neutralised); payer ids pass the one masking rule (no full ID number leaves).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import BinaryIO, Literal
from zoneinfo import ZoneInfo

from paychannels.journal.feedbook import FeedEntry, FeedError, FeedHeader
from paychannels.security.masking import mask_payer_id
from paychannels.security.textrules import csv_writer
from paychannels.values.currencies import currency

__all__ = ["COLUMNS", "ENCODINGS", "FORMATS", "FeedFormat", "amount_text", "render_feed"]

FORMATS = ("csv", "jsonl")
#: CSV may be GBK or GB18030 for offices whose import takes only those; JSON Lines is UTF-8
ENCODINGS = ("utf-8", "utf-8-sig", "gbk", "gb18030")
COLUMNS = (
    "kind",
    "feed",
    "record",
    "payment",
    "payer",
    "payer_key",
    "insurance",
    "period",
    "grade",
    "amount",
    "currency",
    "channel",
    "time",
    "settlement_ref",
    "corrects",
)


@dataclass(frozen=True, slots=True)
class FeedFormat:
    """How a feed is written: ``csv`` or ``jsonl``, the encoding, an optional payer key."""

    kind: Literal["csv", "jsonl"] = "csv"
    encoding: str = "utf-8"
    #: shared with the office: ``payer_key`` = HMAC-SHA256(key, payer id), first 32 hex
    payer_key: bytes | None = None

    def __post_init__(self) -> None:
        if self.kind not in FORMATS:
            raise FeedError(f"unknown feed format {self.kind!r}; expected csv or jsonl")
        if self.encoding not in ENCODINGS:
            raise FeedError(
                f"unknown encoding {self.encoding!r}; expected one of {', '.join(ENCODINGS)}"
            )
        if self.kind == "jsonl" and self.encoding != "utf-8":
            raise FeedError("JSON Lines feeds are UTF-8 (--encoding is for CSV)")

    @property
    def label(self) -> str:
        """``csv/gbk``, ``jsonl/utf-8``: recorded with the first file written."""
        return f"{self.kind}/{self.encoding}"

    @property
    def suffix(self) -> str:
        """The file name's ending."""
        return f".{self.kind}"


class _Hashed:
    """Encodes text into a binary file, hashing every byte written."""

    def __init__(self, fh: BinaryIO, encoding: str) -> None:
        self.fh, self.encoding = fh, encoding
        self.sha = hashlib.sha256()
        self.where = ""

    def write(self, text: str) -> int:
        try:
            data = text.encode(self.encoding)
        except UnicodeEncodeError as exc:
            char = exc.object[exc.start : exc.end]
            raise FeedError(
                f"{self.where}: U+{ord(char[0]):04X} cannot be written in {self.encoding}; "
                "write this feed in UTF-8 or GB18030"
            ) from None
        self.sha.update(data)
        self.fh.write(data)
        return len(text)


def render_feed(
    header: FeedHeader,
    pages: Iterable[list[FeedEntry]],
    fh: BinaryIO,
    fmt: FeedFormat,
    *,
    insurance_name: str,
    zone: ZoneInfo,
) -> str:
    """Write the feed to ``fh``; the SHA-256 (hex) of everything before its checksum line."""
    out = _Hashed(fh, fmt.encoding)
    exponent = currency(header.currency).exponent
    emit: Callable[[list[str]], None]
    if fmt.kind == "csv":
        writer = csv_writer(out, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        emit = writer.writerow
    else:
        emit = _jsonl(out)
    count = total = 0
    for page in pages:
        for e in page:
            out.where = f"feed {header.feed_id}, {e.line} line of {e.record_id}"
            count += 1
            total += e.amount_minor
            emit(_cells(header, e, fmt, insurance_name, exponent, zone))
    if count != header.lines or total != header.total_minor:
        raise FeedError(
            f"feed {header.feed_id}: the journal recorded {header.lines} lines totalling "
            f"{header.total_minor} but holds {count} totalling {total}; nothing was written"
        )
    out.where = f"feed {header.feed_id}, totals line"
    emit(_totals(header, exponent, zone))
    digest = out.sha.hexdigest()
    emit(["sha256", header.feed_id, digest, *([""] * (len(COLUMNS) - 3))])
    return digest


def _jsonl(out: _Hashed) -> Callable[[list[str]], None]:
    def emit(cells: list[str]) -> None:
        row = {name: value for name, value in zip(COLUMNS, cells, strict=True) if value != ""}
        out.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")

    return emit


def _cells(
    header: FeedHeader,
    e: FeedEntry,
    fmt: FeedFormat,
    insurance_name: str,
    exponent: int,
    zone: ZoneInfo,
) -> list[str]:
    return [
        e.line,
        header.feed_id,
        e.record_id,
        e.payment_id,
        mask_payer_id(e.payer_id),
        _payer_key(fmt.payer_key, e.payer_id),
        insurance_name,
        e.period,
        e.grade,
        amount_text(e.amount_minor, exponent),
        e.currency,
        e.channel,
        e.at.astimezone(zone).isoformat(timespec="seconds"),
        e.settlement_ref or "",
        e.corrects or "",
    ]


def _totals(header: FeedHeader, exponent: int, zone: ZoneInfo) -> list[str]:
    cells = dict.fromkeys(COLUMNS, "")
    cells.update(
        kind="total",
        feed=header.feed_id,
        record=str(header.lines),
        amount=amount_text(header.total_minor, exponent),
        currency=header.currency,
        time=header.cutoff.astimezone(zone).isoformat(timespec="seconds"),
    )
    return [cells[name] for name in COLUMNS]


def _payer_key(key: bytes | None, payer_id: str) -> str:
    if key is None:
        return ""
    return hmac.new(key, payer_id.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def amount_text(minor: int, exponent: int) -> str:
    """``-20000, 2`` -> ``-200.00``: exact, from minor units (no float on the way)."""
    sign = "-" if minor < 0 else ""
    whole, part = divmod(abs(minor), 10**exponent)
    return f"{sign}{whole}.{part:0{exponent}d}" if exponent else f"{sign}{whole}"
