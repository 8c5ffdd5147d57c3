"""The departments' feeds: each movement once, corrections later, files that never change."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

import pytest

from paychannels.documents.feeds import (
    FeedAlreadyWritten,
    FeedError,
    FeedFormat,
    FeedOutOfOrder,
    make_feed,
    make_feeds,
)
from paychannels.journal import open_journal
from paychannels.journal.feedbook import FeedCandidate, FeedEntry
from tests.feeds.county import DAY1, DAY2, MEDICAL, PENSION, at, open_county, pay, payer


def rows(path: Path, encoding: str = "utf-8") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_bytes().decode(encoding))))


def body_and_sum(path: Path) -> tuple[bytes, str]:
    """The bytes before the checksum line, and the checksum the file states."""
    data = path.read_bytes()
    cut = data.rstrip(b"\n").rfind(b"\n") + 1
    last = data[cut:].decode()
    stated = json.loads(last)["record"] if last.startswith("{") else last.split(",")[2]
    return data[:cut], stated


def test_each_payment_is_fed_once_and_corrections_come_in_a_later_feed(
    journal_url: str, tmp_path: Path
) -> None:
    col, clock = open_county(journal_url, at(DAY1, 9))
    out = tmp_path / "feeds"
    try:
        day1 = [pay(col, n) for n in range(4)] + [pay(col, 10, medical=True)]
        clock.advance(hours=14, minutes=30)  # 23:30 in the county, still day 1
        late = pay(col, 4)
        clock.advance(minutes=35)  # 00:05 on day 2 in the county (16:05 UTC, still day 1 there)
        early2 = pay(col, 6)
        clock.advance(minutes=5)
        pension1, medical1 = make_feeds(col.journal, DAY1, out, now=clock.now())
        assert pension1.action == "new" and medical1.action == "new"
        first = pension1.path.read_bytes()
        lines1 = rows(pension1.path)
        paid1 = [r for r in lines1 if r["kind"] == "paid"]
        assert [r["payment"] for r in paid1] == [p.id for p in day1[:4]] + [late.id]
        assert [r["kind"] for r in rows(medical1.path)] == ["paid", "total", "sha256"]
        assert rows(medical1.path)[0]["insurance"] == MEDICAL
        assert paid1[0]["insurance"] == PENSION and paid1[0]["grade"] == "一档"
        assert paid1[0]["amount"] == "200.00" and paid1[0]["period"] == "2026"
        assert paid1[0]["time"] == "2026-03-02T09:00:00+08:00"
        assert paid1[-1]["time"] == "2026-03-02T23:30:00+08:00"
        assert paid1[0]["settlement_ref"] == day1[0].channel_ref
        total = next(r for r in lines1 if r["kind"] == "total")
        assert total["record"] == "5" and total["amount"] == "1000.00"
        assert total["time"] == "2026-03-03T00:00:00+08:00"

        # day 2: one new payment, a void of a day-1 payment, a refund of another
        clock.advance(hours=9)
        new = pay(col, 5)
        col.cancel(day1[1].id)  # SUCCEEDED -> REVERSED (void)
        refund = col.refund(day1[2].id, amount=None)
        clock.advance(hours=15)
        pension2 = make_feed(col.journal, "pension", DAY2, out, now=clock.now())
        lines2 = [r for r in rows(pension2.path) if r["kind"] not in ("total", "sha256")]
        assert [(r["kind"], r["record"], r["amount"], r["corrects"]) for r in lines2] == [
            ("paid", early2.id, "200.00", ""),
            ("paid", new.id, "200.00", ""),
            ("reversal", day1[1].id, "-200.00", "pension-2026-03-02"),
            ("refund", refund.id, "-200.00", "pension-2026-03-02"),
        ]
        assert pension1.path.read_bytes() == first  # an old file is never rewritten
        totals2 = next(r for r in rows(pension2.path) if r["kind"] == "total")
        assert totals2["record"] == "4" and totals2["amount"] == "0.00"
        # nothing new: day 3's feed is empty, but made (an office sees that nothing came)
        clock.advance(hours=24)
        pension3 = make_feed(col.journal, "pension", DAY2 + timedelta(days=1), out, now=clock.now())
        assert [r["kind"] for r in rows(pension3.path)] == ["total", "sha256"]
        body, stated = body_and_sum(pension2.path)
        assert hashlib.sha256(body).hexdigest() == stated == pension2.checksum
    finally:
        col.close()


def test_a_payment_reversed_before_any_feed_is_paid_and_corrected_in_the_same_feed(
    sqlite_url: str, tmp_path: Path
) -> None:
    col, clock = open_county(sqlite_url, at(DAY1, 9))
    try:
        p = pay(col, 1)
        col.cancel(p.id)
        clock.advance(hours=16)
        feed = make_feed(col.journal, "pension", DAY1, tmp_path, now=clock.now())
        lines = [(r["kind"], r["amount"], r["corrects"]) for r in rows(feed.path)][:2]
        assert lines == [("paid", "200.00", ""), ("reversal", "-200.00", feed.header.feed_id)]
        assert feed.header.total_minor == 0 and feed.header.lines == 2
    finally:
        col.close()


def test_a_day_already_fed_is_refused_or_written_identically_on_request(
    journal_url: str, tmp_path: Path
) -> None:
    col, clock = open_county(journal_url, at(DAY1, 10))
    try:
        pay(col, 1)
        clock.advance(hours=14)
        first = make_feed(col.journal, "pension", DAY1, tmp_path, now=clock.now())
        written = first.path.read_bytes()
        pay(col, 2)  # paid on day 2: must not slip into day 1 when it is asked again
        with pytest.raises(FeedAlreadyWritten, match="nothing is fed twice"):
            make_feed(col.journal, "pension", DAY1, tmp_path, now=clock.now())
        first.path.unlink()
        again = make_feed(col.journal, "pension", DAY1, tmp_path, now=clock.now(), again=True)
        assert again.action == "again" and again.path.read_bytes() == written
        with pytest.raises(FeedError, match="only that format"):
            make_feed(
                col.journal,
                "pension",
                DAY1,
                tmp_path,
                FeedFormat("jsonl"),
                now=clock.now(),
                again=True,
            )
        assert [f.lines for f in col.journal.feeds()] == [1]
        clock.advance(hours=24)
        make_feed(col.journal, "pension", DAY2, tmp_path, now=clock.now())
        with pytest.raises(FeedOutOfOrder):
            make_feed(col.journal, "pension", DAY1 - timedelta(days=1), tmp_path, now=clock.now())
        with pytest.raises(FeedError, match="has not begun"):
            make_feed(col.journal, "pension", DAY2 + timedelta(days=5), tmp_path, now=clock.now())
    finally:
        col.close()


def test_gbk_csv_and_json_lines_mask_id_numbers_and_neutralise_formulas(
    sqlite_url: str, tmp_path: Path
) -> None:
    col, clock = open_county(sqlite_url, at(DAY1, 10))
    try:
        pay(col, 1, grade='=HYPERLINK("http://x")')
        pay(col, 2, medical=True)
        clock.advance(hours=14)
        gbk = make_feed(
            col.journal,
            "城乡居民基本养老保险",
            DAY1,
            tmp_path / "p",
            FeedFormat("csv", "gbk"),
            now=clock.now(),
        )
        line = rows(gbk.path, "gbk")[0]
        assert line["grade"] == '\'=HYPERLINK("http://x")'
        assert line["payer"] == f"{payer(1)[:6]}********{payer(1)[-4:]}"
        assert payer(1).encode() not in gbk.path.read_bytes()
        body, stated = body_and_sum(gbk.path)
        assert hashlib.sha256(body).hexdigest() == stated
        key = b"county-and-office-secret"
        jl = make_feed(
            col.journal,
            "medical",
            DAY1,
            tmp_path / "m",
            FeedFormat("jsonl", payer_key=key),
            now=clock.now(),
        )
        objs = [json.loads(x) for x in jl.path.read_text("utf-8").splitlines()]
        assert [o["kind"] for o in objs] == ["paid", "total", "sha256"]
        assert objs[0]["insurance"] == MEDICAL and objs[0]["amount"] == "400.00"
        expected = hmac.new(key, payer(2).encode(), hashlib.sha256).hexdigest()[:32]
        assert objs[0]["payer_key"] == expected and objs[0]["payer"] != payer(2)
        assert payer(2) not in jl.path.read_text("utf-8")
        body, stated = body_and_sum(jl.path)
        assert hashlib.sha256(body).hexdigest() == stated == jl.checksum
    finally:
        col.close()


def test_unknown_type_and_encoding_are_feed_errors() -> None:
    with pytest.raises(FeedError, match="unknown insurance type"):
        make_feed(None, "unemployment", DAY1, ".", now=at(DAY2, 1))  # type: ignore[arg-type]
    with pytest.raises(FeedError, match="unknown encoding"):
        FeedFormat("csv", "latin-1")
    with pytest.raises(FeedError, match="UTF-8"):
        FeedFormat("jsonl", "gbk")


def test_a_feed_that_cannot_be_written_stays_recorded_and_is_completed_later(
    sqlite_url: str, tmp_path: Path
) -> None:
    col, clock = open_county(sqlite_url, at(DAY1, 10))
    try:
        pay(col, 1)
        clock.advance(hours=14)
        blocked = tmp_path / "not-a-folder"
        blocked.write_text("a file where the folder should be")
        with pytest.raises(FeedError, match="stays recorded"):
            make_feed(col.journal, "pension", DAY1, blocked / "feeds", now=clock.now())
        (header,) = col.journal.feeds()
        assert header.lines == 1 and header.checksum is None
        pay(col, 2)  # recorded later: not in the completed feed
        done = make_feed(col.journal, "pension", DAY1, tmp_path / "feeds", now=clock.now())
        assert done.action == "completed" and done.header.lines == 1
        assert [r["kind"] for r in rows(done.path)] == ["paid", "total", "sha256"]
    finally:
        col.close()


def test_a_payment_without_roster_metadata_is_placed_by_its_reference() -> None:
    from paychannels.documents.feeds import obligation_of

    bare = obligation_of("2026:城乡居民基本医疗保险", None, None, None)
    assert (bare.insurance, bare.period, bare.grade) == (MEDICAL, "2026", "")
    spaced = obligation_of("x", " 城乡居民基本养老保险 ", "2026", "三档")
    assert (spaced.insurance, spaced.period, spaced.grade) == (PENSION, "2026", "三档")
    assert obligation_of("2026", None, None, None).insurance == ""  # in no feed


def _all_lines(candidates: Iterable[FeedCandidate]) -> list[FeedEntry]:
    return [
        FeedEntry(
            c.record_id, c.line, c.payment_id, c.at, c.payer_id, c.period or "", c.grade or "",
            c.amount_minor, c.currency, c.channel, c.channel_ref, c.corrects,
        )
        for c in candidates
    ]  # fmt: skip


def test_a_feed_recorded_while_another_was_reading_is_not_fed_twice(journal_url: str) -> None:
    """Feed A reads its lines without a lock; feed B records the same lines meanwhile (another
    connection, as another process would). A must see that under the lock and read again."""
    col, clock = open_county(journal_url, at(DAY1, 10))
    other = open_journal(journal_url)
    try:
        for n in range(3):
            pay(col, n)
        clock.advance(hours=20)
        cut, now = clock.now(), clock.now()

        def pick_while_b_records(candidates: Iterable[FeedCandidate]) -> list[FeedEntry]:
            mine = _all_lines(candidates)
            b = other.record_feed(
                "b", insurance=PENSION, day="2026-03-01", cutoff=cut, made_at=now,
                currency="CNY", pick=_all_lines,
            )  # fmt: skip
            assert b.lines == 3
            return mine

        calls: list[int] = []

        def pick(candidates: Iterable[FeedCandidate]) -> list[FeedEntry]:
            calls.append(1)
            return pick_while_b_records(candidates) if len(calls) == 1 else _all_lines(candidates)

        a = col.journal.record_feed(
            "a", insurance=PENSION, day="2026-03-02", cutoff=cut, made_at=now, currency="CNY",
            pick=pick,
        )  # fmt: skip
        assert len(calls) == 2 and a.created and a.lines == 0
        assert [(f.feed_id, f.lines) for f in col.journal.feeds()] == [("b", 3), ("a", 0)]
    finally:
        other.close()
        col.close()
