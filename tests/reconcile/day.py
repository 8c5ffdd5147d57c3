"""Constructed collection days for the reconciliation tests: a roster and a journal whose
records are written exactly as a test says (status, amount taken, reference, operator,
attention), so the right answer for every payer is known."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from paychannels import Money, PaymentRequest, Status
from paychannels.channels.settlement import Settlement
from paychannels.journal import Change, Journal, NewRecord, open_journal
from paychannels.values.idnumbers import with_check_digit
from paychannels.values.models import EventType
from paychannels.values.reasons import Reason

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Beijing
HEAD = "证件号码,姓名,苏木乡镇,嘎查村,险种,缴费档次,应缴金额,缴费期间,缴费方式\n"


def payer(n: int) -> str:
    """A valid resident ID number, the n-th of the day."""
    return with_check_digit(f"15222119800101{n:03d}")


@dataclass
class Day:
    """A roster file and a journal being filled."""

    folder: Path
    journal: Journal
    lines: list[str] = field(default_factory=list)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    line_of: dict[int, int] = field(default_factory=dict)  # payer number -> roster line

    @classmethod
    def open(cls, folder: Path, journal_url: str) -> Day:
        journal = open_journal(journal_url, create=True)
        journal.migrate()
        return cls(folder, journal)

    def inputs(self) -> list[str]:
        """``--roster`` and ``--db`` for the commands that read this day."""
        return ["--roster", str(self.roster), "--db", self.journal.url]

    @property
    def roster(self) -> Path:
        path = self.folder / "roster.csv"
        path.write_text(HEAD + "".join(self.lines), "utf-8")
        return path

    def owe(
        self,
        n: int,
        amount: str,
        *,
        name: str = "张三",
        town: str = "科尔沁镇",
        village: str = "新立村",
        grade: str = "一档",
        period: str = "2026",
    ) -> str:
        self.lines.append(
            f"{payer(n)},{name},{town},{village},城乡居民基本养老保险,{grade},{amount},{period},"
            "hall\n"
        )
        self.line_of[n] = len(self.lines) + 1  # the header is line 1
        return payer(n)

    def pay(
        self,
        n: int,
        amount: str,
        *,
        channel: str = "hall-1",
        status: Status = Status.SUCCEEDED,
        taken: str | None = None,
        ref: str | None = None,
        operator: str | None = None,
        attention: str | None = None,
        reference: str = "2026:城乡居民基本养老保险",
        at: datetime = T0,
        changed: datetime | None = None,
        again: bool = False,
    ) -> str:
        """A payment in ``status`` (through DISPATCHED; UNKNOWN first for NEEDS_ATTENTION);
        ``again``: a second payment of a paid obligation, on purpose (``pay_again``)."""
        rid = f"pay_{next(self.ids):06d}"
        req = PaymentRequest(
            payer_id=payer(n),
            amount=Money(amount, "CNY"),
            reference=reference,
            idempotency_key=f"k-{rid}",
            operator=operator,
            pay_again=again,
        )
        self.journal.create(
            NewRecord(rid, "payment", channel, req, rid),
            now=at,
            then=[Change(to_status=Status.DISPATCHED, new_attempt=True)],
        )
        steps: list[Change] = []
        if status is Status.NEEDS_ATTENTION:
            steps.append(Change(to_status=Status.UNKNOWN, reason=Reason.NO_ANSWER))
        if status is Status.REVERSED:
            steps.append(
                Change(to_status=Status.SUCCEEDED, amount_taken=req.amount, channel_ref=ref)
            )
        got = Money(taken, "CNY") if taken is not None else None
        if status is Status.SUCCEEDED:
            got = got or req.amount
        reason = Reason.INSUFFICIENT_FUNDS if status is Status.DECLINED else None
        steps.append(Change(to_status=status, amount_taken=got, channel_ref=ref, reason=reason))
        if attention:
            steps.append(Change(event=EventType.ATTENTION, attention=attention))
        self.journal.modify(rid, lambda _r: steps, now=changed or at + timedelta(minutes=1))
        return rid

    def refund(
        self,
        parent: str,
        amount: str,
        *,
        ref: str | None = None,
        channel: str = "hall-1",
        at: datetime = T0,
    ) -> str:
        rid = f"rfd_{next(self.ids):06d}"
        record = self.journal.get(parent)
        req = PaymentRequest(
            payer_id=record.payer_id,
            amount=Money(amount, "CNY"),
            reference=record.reference,
            idempotency_key=f"k-{rid}",
        )
        self.journal.create(
            NewRecord(rid, "refund", channel, req, rid, parent_id=parent),
            now=at,
            then=[
                Change(to_status=Status.DISPATCHED, new_attempt=True),
                Change(to_status=Status.SUCCEEDED, amount_taken=req.amount, channel_ref=ref),
            ],
        )
        return rid

    def settle(self, channel: str, settlement: Settlement) -> None:
        entry = self.journal.state_get(channel, settlement.state_key)
        self.journal.state_put(
            channel,
            settlement.state_key,
            settlement.to_json(),
            expected_version=entry.version if entry else 0,
            now=settlement.recorded_at,
        )


TOWNS = ("科尔沁镇", "察尔森镇", "")
VILLAGES = ("新立村", "胜利村", "")
OPERATORS = ("柜员-王丽", "协管员-李强", None)
#: another period's reference (money paid for the wrong year)
OTHER = "2025:城乡居民基本养老保险"


def generate_day(day: Day, payers: int, seed: int) -> None:
    """A day where each payer gets one of the stories below, at random but reproducibly."""
    rnd = random.Random(seed)
    at = iter(T0 + timedelta(seconds=i) for i in range(10 * payers))

    def pay(n: int, amount: str, **kw: Any) -> str:
        kw.setdefault("operator", rnd.choice(OPERATORS))
        return day.pay(n, amount, at=next(at), **kw)

    for n in range(1, payers + 1):
        story = rnd.randrange(16)
        if story != 15:  # 15: not on the roster at all
            day.owe(n, "300.00", town=rnd.choice(TOWNS), village=rnd.choice(VILLAGES))
        match story:
            case 0 | 1 | 2 | 15:
                pay(n, "300.00", channel=rnd.choice(("hall-1", "wx", "bank")))
            case 3:
                pass  # unpaid, nobody tried
            case 4:
                pay(n, "300.00", status=Status.DECLINED, channel="bank")
            case 5:
                pay(n, "300.00", taken="150.00", channel="bank")
                if rnd.random() < 0.5:
                    pay(n, "150.00", again=True)  # paid in two parts
            case 6:
                pay(n, "300.00")
                second = pay(n, "300.00", channel="wx", again=True)
                if rnd.random() < 0.5:
                    day.refund(second, "300.00", channel="wx", at=next(at))
            case 7:
                pay(n, "400.00")  # another grade
            case 8:
                pay(n, "300.00", taken="330.00")
            case 9:
                pay(n, "300.00", status=rnd.choice((Status.UNKNOWN, Status.PENDING)))
            case 10:
                pay(n, "300.00", status=Status.NEEDS_ATTENTION)
            case 11:
                pay(n, "300.00", status=Status.REVERSED)
            case 12:
                pay(n, "300.00", channel="wx", attention="late CLOSED")
            case 13:
                pay(n, "300.00", reference=OTHER)  # another period's money
            case _:
                first = pay(n, "300.00")
                day.refund(first, "100.00", at=next(at))  # a partial refund: partly paid
