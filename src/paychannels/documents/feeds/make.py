"""Making a day's feed: record what it carries in the journal first, then write the file.

The order is what makes a feed exactly-once and crash-safe. (1) The journal records the
feed and its lines in one transaction (``Journal.record_feed``): from then on those
movements belong to this feed and no other. (2) The file is rendered from that record
into a temporary file, fsynced, renamed into place and the folder fsynced. (3) Its
checksum is noted in the journal. A crash after (1) leaves a recorded feed without a file
or without a checksum: running the same day again renders the identical file from the
record and completes it. A file never exists for a feed the journal does not hold.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from paychannels.documents.feeds.kinds import INSURANCES, Insurance, insurance, obligation_of
from paychannels.documents.feeds.render import FeedFormat, render_feed
from paychannels.journal.base import Journal
from paychannels.journal.feedbook import (
    FeedAlreadyWritten,
    FeedCandidate,
    FeedEntry,
    FeedError,
    FeedHeader,
    Pick,
)
from paychannels.runtime.countytime import DEFAULT_ZONE
from paychannels.runtime.crashpoints import crashpoint
from paychannels.runtime.durable import fsync_path

__all__ = ["COUNTY_ZONE", "FeedResult", "feed_day", "make_feed", "make_feeds", "zone_of"]

COUNTY_ZONE = DEFAULT_ZONE


@dataclass(frozen=True, slots=True)
class FeedResult:
    """A feed made: its record, its file, its checksum, and what this call did."""

    header: FeedHeader
    path: Path
    checksum: str
    #: ``new`` (recorded and written now), ``completed`` (recorded before, its file was
    #: never finished), ``again`` (the identical file written once more on request)
    action: Literal["new", "completed", "again"]


def zone_of(name: str) -> ZoneInfo:
    """The county's time zone by IANA name; ``FeedError`` for a name the system lacks."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise FeedError(
            f"unknown time zone {name[:40]!r} (an IANA name, e.g. {COUNTY_ZONE})"
        ) from None


def feed_day(day: date, zone: ZoneInfo, now: datetime) -> datetime:
    """The cut-off of ``day``'s feed: the day's end in the county, or now if it is earlier."""
    start = datetime.combine(day, time(), zone)
    if now <= start:
        raise FeedError(f"{day} has not begun in {zone.key}: there is nothing to feed yet")
    return min(datetime.combine(day + timedelta(days=1), time(), zone), now)


def make_feed(
    journal: Journal,
    kind: str | Insurance,
    day: date,
    folder: str | Path,
    fmt: FeedFormat | None = None,
    *,
    now: datetime,
    zone: str = COUNTY_ZONE,
    again: bool = False,
    currency: str = "CNY",
) -> FeedResult:
    """Make (or complete) one insurance type's feed of ``day`` in ``folder``.

    A feed already written is ``FeedAlreadyWritten`` unless ``again``: then the identical
    file is written once more (checked against the recorded checksum), nothing recorded.
    """
    ins = kind if isinstance(kind, Insurance) else insurance(kind)
    fmt = fmt or FeedFormat()
    tz = zone_of(zone)
    cutoff = feed_day(day, tz, now)
    feed_id = f"{ins.code}-{day.isoformat()}"
    header = journal.record_feed(
        feed_id,
        insurance=ins.name,
        day=day.isoformat(),
        cutoff=cutoff,
        made_at=now,
        currency=currency,
        pick=_picker(ins.name, feed_id, currency),
    )
    crashpoint("feed.recorded")
    if header.checksum is not None and not again:
        raise FeedAlreadyWritten(
            f"the {ins.name} feed of {day} ({feed_id}) was made at "
            f"{header.made_at.astimezone(tz):%Y-%m-%d %H:%M:%S} and written as "
            f"{header.file_format} (sha256 {header.checksum[:16]}…); nothing is fed twice — "
            "ask for the identical file again with --again"
        )
    if header.checksum is not None and header.file_format != fmt.label:
        raise FeedError(
            f"feed {feed_id} was written as {header.file_format}; the identical file is "
            f"only that format, not {fmt.label}"
        )
    path, digest = _write(journal, header, Path(folder), fmt, ins, tz)
    if header.checksum is not None:
        return FeedResult(header, path, digest, "again")
    noted = journal.feed_written(feed_id, file_format=fmt.label, checksum=digest, now=now)
    if noted.checksum != digest:  # another process finished it first, in another format
        raise FeedError(
            f"feed {feed_id} was meanwhile written as {noted.file_format} by another run; "
            f"{path} is that feed's lines as {fmt.label}"
        )
    return FeedResult(noted, path, digest, "new" if header.created else "completed")


def make_feeds(
    journal: Journal,
    day: date,
    folder: str | Path,
    fmt: FeedFormat | None = None,
    *,
    now: datetime,
    zone: str = COUNTY_ZONE,
) -> list[FeedResult]:
    """Every insurance type's feed of ``day`` (the demo's end of day)."""
    return [make_feed(journal, ins, day, folder, fmt, now=now, zone=zone) for ins in INSURANCES]


def _picker(name: str, feed_id: str, currency: str) -> Pick:
    """The candidates that are ``name``'s, as lines: corrections negative, naming the feed
    that carried their payment (this one, when it carries both)."""

    def pick(candidates: Iterable[FeedCandidate]) -> list[FeedEntry]:
        out: list[FeedEntry] = []
        for c in candidates:
            ob = obligation_of(c.reference, c.insurance, c.period, c.grade)
            if ob.insurance != name:
                continue
            out.append(_entry(c, ob.period, ob.grade, feed_id, currency))
        return out

    return pick


def _entry(c: FeedCandidate, period: str, grade: str, feed_id: str, currency: str) -> FeedEntry:
    if c.currency != currency:
        raise FeedError(
            f"{c.line} of {c.record_id} is in {c.currency}, the feed in {currency}; "
            "nothing was recorded"
        )
    paid = c.line == "paid"
    return FeedEntry(
        c.record_id,
        c.line,
        c.payment_id,
        c.at,
        c.payer_id,
        period,
        grade,
        c.amount_minor if paid else -c.amount_minor,
        c.currency,
        c.channel,
        c.channel_ref,
        None if paid else (c.corrects or feed_id),
    )


def _write(
    journal: Journal,
    header: FeedHeader,
    folder: Path,
    fmt: FeedFormat,
    ins: Insurance,
    tz: ZoneInfo,
) -> tuple[Path, str]:
    """Render into a temporary file, fsync, rename into place, fsync the folder."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError) as exc:  # not a folder, no permission, a NUL in the name
        raise FeedError(
            f"cannot write feed {header.feed_id} into {str(folder)[:120]!r}: "
            f"{getattr(exc, 'strerror', None) or exc}; it stays recorded — run it again"
        ) from None
    path = folder / f"{header.feed_id}{fmt.suffix}"
    tmp = folder / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        with tmp.open("xb") as fh:
            digest = render_feed(
                header,
                journal.feed_entries(header.feed_id),
                fh,
                fmt,
                insurance_name=ins.name,
                zone=tz,
            )
            fh.flush()
            os.fsync(fh.fileno())
        if header.checksum is not None and digest != header.checksum:
            raise FeedError(
                f"feed {header.feed_id} made again would differ from the file written "
                f"(sha256 {header.checksum[:16]}…, now {digest[:16]}…: another payer key?); "
                f"{path} was not replaced"
            )
        os.replace(tmp, path)
    except OSError as exc:  # disk full, permissions: the feed stays recorded, unwritten
        tmp.unlink(missing_ok=True)
        raise FeedError(
            f"cannot write {path}: {exc.strerror or exc}; feed {header.feed_id} stays recorded "
            "— run it again to write it"
        ) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(folder)
    crashpoint("feed.written")
    return path, digest


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system syncs a folder
        fsync_path(folder)
