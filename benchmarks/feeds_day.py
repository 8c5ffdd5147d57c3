"""The offices' feeds of a 300,000-payer day: made, checked, made again, then a correction day.

A journal (SQLite by default, or ``--db`` PostgreSQL) is filled by a child process with a
county's day: 300,000 roster obligations (70 % 城乡居民基本养老保险 across the twelve grades,
30 % 城乡居民基本医疗保险) paid between 08:00 and 20:00 in Asia/Shanghai through four
channels. Then, each step in a fresh process that reports its own time and peak resident
memory (``VmHWM``):

- **feed**: ``make_feeds`` for the day — both insurance types recorded in the journal
  (every line in ``pc_feed_lines``) and written as CSV, UTF-8;
- **check**: every file read back — SHA-256 of its body against its checksum line and the
  journal's record, one line per payment, the totals line against the sum of the lines and
  against what the journal says was paid;
- **again**: the pension feed asked for again (refused) and written again on request
  (``again=True``): byte for byte the same file;
- **day 2**: 1,000 of the day's payments reversed and 1,000 refunded the next day, and
  the next day's feeds made: the correction lines, found among 300,000 fed payments.

    python benchmarks/feeds_day.py [--payers 300000] [--db URL] [--folder DIR] [--json]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from _common import hwm_mb, step

ZONE = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 3, 2)
CHANNELS = ("bank", "hall-1", "wechat", "alipay")
CORRECTIONS = 1000


def _at(day: date, seconds: int) -> datetime:
    return (datetime.combine(day, clock_time(), ZONE) + timedelta(seconds=seconds)).astimezone(UTC)


def build(url: str, payers: int) -> dict[str, Any]:
    """Fill a new journal with the day (in chunks of 10,000, each paid at its own time)."""
    from paychannels import Money, PaymentRequest, Status
    from paychannels.demo.roster_gen import GRADES, MEDICAL, MEDICAL_YUAN, PENSION
    from paychannels.journal import Change, NewRecord, open_journal
    from paychannels.values.idnumbers import with_check_digit

    rnd = random.Random(17)
    journal = open_journal(url, create=True)
    paid = {"pension": 0, "medical": 0}
    chunk = 10_000
    for start in range(0, payers, chunk):
        news, moves = [], []
        for n in range(start, min(payers, start + chunk)):
            if rnd.random() < 0.7:
                kind, (grade, yuan, _w) = PENSION, rnd.choice(GRADES)
                paid["pension"] += yuan * 100
            else:
                kind, grade, yuan = MEDICAL, "统一标准", MEDICAL_YUAN
                paid["medical"] += yuan * 100
            born = date(1950, 1, 1) + timedelta(days=n % 20_000)
            pid = with_check_digit(f"152221{born:%Y%m%d}{n // 20_000 % 1000:03d}")
            request = PaymentRequest(
                payer_id=pid,
                amount=Money.of_minor(yuan * 100, "CNY"),
                reference=f"2026:{kind}",
                idempotency_key=f"bench:{n}",
                period="2026",
                metadata={"insurance_type": kind, "grade": grade, "township": "科尔沁镇"},
            )
            rid = f"pay_{n:08d}"
            news.append(NewRecord(rid, "payment", CHANNELS[n % 4], request, f"f{n}"))
            ref = f"REF{n:010d}"
            moves.append(
                (
                    rid,
                    lambda _r, ref=ref: [
                        Change(to_status=Status.DISPATCHED),
                        Change(to_status=Status.SUCCEEDED, channel_ref=ref),
                    ],
                )
            )
        when = _at(DAY, 8 * 3600 + (12 * 3600 * start) // payers)
        journal.create_many(news, now=when)
        journal.modify_many(moves, now=when + timedelta(seconds=5))
    journal.close()
    return {"paid_minor": paid}


def feed(url: str, folder: str, day: str, now: str, again: bool) -> dict[str, Any]:
    """Make both feeds of ``day`` (or write the pension feed again)."""
    from paychannels.documents.feeds import FeedAlreadyWritten, make_feed, make_feeds
    from paychannels.journal import open_journal

    journal = open_journal(url)
    started = time.perf_counter()
    refused = False
    if again:
        try:
            make_feed(
                journal, "pension", date.fromisoformat(day), folder, now=datetime.fromisoformat(now)
            )
        except FeedAlreadyWritten:
            refused = True
        made = [
            make_feed(
                journal,
                "pension",
                date.fromisoformat(day),
                folder,
                now=datetime.fromisoformat(now),
                again=True,
            )
        ]
    else:
        made = make_feeds(journal, date.fromisoformat(day), folder, now=datetime.fromisoformat(now))
    seconds = time.perf_counter() - started
    journal.close()
    return {
        "seconds": round(seconds, 2),
        "peak_mb": round(hwm_mb(), 1),
        "refused_first": refused,
        "feeds": {
            r.header.feed_id: {
                "lines": r.header.lines,
                "total_minor": r.header.total_minor,
                "path": str(r.path),
                "sha256": r.checksum,
                "action": r.action,
                "recorded_sha256": r.header.checksum,
            }
            for r in made
        },
    }


def correct(url: str, count: int) -> dict[str, Any]:
    """Reverse ``count`` of the day's payments and refund ``count`` others, on day 2."""
    from paychannels import Money
    from paychannels.journal import Change, NewRecord, open_journal
    from paychannels.values.models import PaymentRequest
    from paychannels.values.status import Status

    journal = open_journal(url)
    when = _at(DAY + timedelta(days=1), 10 * 3600)
    journal.modify_many(
        [(f"pay_{n:08d}", lambda _r: [Change(to_status=Status.REVERSED)]) for n in range(count)],
        now=when,
    )
    refunds = []
    for n in range(count, 2 * count):
        parent = journal.get(f"pay_{n:08d}")
        request = PaymentRequest(
            payer_id=parent.payer_id,
            amount=Money.of_minor(parent.amount.minor, "CNY"),
            reference=parent.reference,
            idempotency_key=f"refund:{n}",
        )
        refunds.append(
            NewRecord(f"ref_{n:08d}", "refund", parent.channel, request, f"r{n}", parent.id)
        )
    journal.create_many(refunds, now=when)
    journal.modify_many(
        [
            (
                r.id,
                lambda _r: [
                    Change(to_status=Status.DISPATCHED),
                    Change(to_status=Status.SUCCEEDED),
                ],
            )
            for r in refunds
        ],
        now=when,
    )
    journal.close()
    return {"reversed": count, "refunded": count}


def check(paths: list[str], expected_lines: int, expected_minor: int) -> dict[str, Any]:
    """Read the files back: checksums, one line per payment, totals."""
    started = time.perf_counter()
    seen: set[tuple[str, str]] = set()
    lines = net = 0
    for name in paths:
        data = Path(name).read_bytes()
        cut = data.rstrip(b"\n").rfind(b"\n") + 1
        stated = data[cut:].decode().split(",")[2]
        assert hashlib.sha256(data[:cut]).hexdigest() == stated, f"{name}: checksum"
        rows = list(csv.DictReader(io.StringIO(data[:cut].decode("utf-8"))))
        total = rows.pop()
        assert total["kind"] == "total"
        file_net = 0
        for r in rows:
            key = (r["record"], r["kind"])
            assert key not in seen, f"{key} fed twice"
            seen.add(key)
            whole, _, part = r["amount"].lstrip("-").partition(".")
            minor = int(whole) * 100 + int(part)
            file_net += -minor if r["amount"].startswith("-") else minor
        assert int(total["record"]) == len(rows), f"{name}: line count"
        whole, _, part = total["amount"].lstrip("-").partition(".")
        assert (int(whole) * 100 + int(part)) * (
            -1 if total["amount"].startswith("-") else 1
        ) == file_net
        lines += len(rows)
        net += file_net
    assert lines == expected_lines, (lines, expected_lines)
    assert net == expected_minor, (net, expected_minor)
    return {"seconds": round(time.perf_counter() - started, 2), "lines": lines, "net_minor": net}


def _child(name: str, *args: str) -> dict[str, Any]:
    return step(__file__, name, "--step", name, *args)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payers", type=int, default=300_000)
    parser.add_argument("--db", help="journal URL (default: a new SQLite file in --folder)")
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.step:
        a = opts.args
        if opts.step == "build":
            out = build(a[0], int(a[1]))
        elif opts.step == "feed":
            out = feed(a[0], a[1], a[2], a[3], a[4] == "again")
        else:
            out = correct(a[0], int(a[1]))
        print(json.dumps(out))
        return 0
    folder = opts.folder or Path(tempfile.mkdtemp(prefix="feeds-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    url = opts.db or f"sqlite:///{folder}/journal.db?synchronous=normal"
    t = time.perf_counter()
    built = _child("build", url, str(opts.payers))
    build_s = round(time.perf_counter() - t, 1)
    out = str(folder / "feeds")
    now1 = _at(DAY + timedelta(days=1), 3600).isoformat()
    day1 = _child("feed", url, out, DAY.isoformat(), now1, "new")
    paths = [f["path"] for f in day1["feeds"].values()]
    total = sum(built["paid_minor"].values())
    checked = check(paths, opts.payers, total)
    pension = next(f for k, f in day1["feeds"].items() if k.startswith("pension"))
    first = Path(pension["path"]).read_bytes()
    again = _child("feed", url, out, DAY.isoformat(), now1, "again")
    assert again["refused_first"], "a fed day was not refused"
    assert Path(pension["path"]).read_bytes() == first, "made again, the file differs"
    _child("correct", url, str(CORRECTIONS))
    now2 = _at(DAY + timedelta(days=2), 3600).isoformat()
    day2 = _child("feed", url, out, (DAY + timedelta(days=1)).isoformat(), now2, "new")
    lines2 = sum(f["lines"] for f in day2["feeds"].values())
    assert lines2 == 2 * CORRECTIONS, lines2
    size = sum(Path(p).stat().st_size for p in paths)
    result = {
        "payers": opts.payers,
        "journal": url.split("?")[0].split(":")[0],
        "build_seconds": build_s,
        "feed_seconds": day1["seconds"],
        "feed_peak_mb": day1["peak_mb"],
        "files_mb": round(size / 2**20, 1),
        "check_seconds": checked["seconds"],
        "again_seconds": again["seconds"],
        "again_peak_mb": again["peak_mb"],
        "day2_corrections": lines2,
        "day2_seconds": day2["seconds"],
        "day2_peak_mb": day2["peak_mb"],
    }
    if opts.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"feeds of a {opts.payers:,}-payer day ({result['journal']}): made in "
            f"{result['feed_seconds']} s, peak {result['feed_peak_mb']} MB "
            f"({result['files_mb']} MB of CSV); checked in {result['check_seconds']} s; "
            f"made again identically in {result['again_seconds']} s "
            f"(peak {result['again_peak_mb']} MB); next day's {lines2} corrections in "
            f"{result['day2_seconds']} s (peak {result['day2_peak_mb']} MB); "
            f"journal built in {build_s} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
