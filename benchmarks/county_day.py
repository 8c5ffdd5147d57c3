"""A county's collection day built straight into a journal, for ``reconcile_day.py``.

The roster comes from ``paychannels.demo.roster_gen``; every payer who pays gets a payment
through the journal's bulk APIs (``create_many``, ``apply_results``) on the channel they
prefer — two ZVT terminals, WeChat Pay, Alipay, bank debit — and each channel's
settlement figures are recorded as the channels record them (terminal end of day every
5,000 bookings, receipt numbers wrapping at 9999; a day's bill per provider, line by
line; three bank result files). Some payers do not pay, some are declined, a few are left
in doubt, partly debited, charged a wrong amount or paid twice, and a few strangers pay:
every category appears.
"""

from __future__ import annotations

import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from paychannels.channels.settlement import Settlement, SettlementItem, SettlementKind
from paychannels.demo.roster_gen import generate_roster
from paychannels.documents.roster import RosterEntry, load_roster
from paychannels.journal import Change, NewRecord, open_journal
from paychannels.journal.base import Journal
from paychannels.values.money import Money
from paychannels.values.reasons import Reason
from paychannels.values.results import ResultRow
from paychannels.values.status import Status

DAY = date(2026, 3, 2)
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Beijing
BATCH = 5000  # bookings per terminal end of day
TERMINALS = ("hall-1", "hall-2")
CLERKS = {"hall-1": "柜员-王丽", "hall-2": "柜员-包巴特尔"}


@dataclass
class Day:
    """Where the day is and what it holds."""

    folder: Path
    roster: Path
    journal_url: str
    payments: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


def _channel_of(entry: RosterEntry, i: int) -> str:
    preferred = entry.channels[0] if entry.channels else "hall"
    return {"bank": "bank", "wechat": "wx", "alipay": "ali"}.get(preferred, TERMINALS[i % 2])


def _operator(channel: str, entry: RosterEntry, rnd: random.Random) -> str | None:
    if channel in CLERKS:
        return CLERKS[channel]
    if channel in ("wx", "ali") and rnd.random() < 0.4:
        return f"协理员-{entry.township}-{entry.village}"[:64]
    return None


def build_day(folder: Path, payers: int, *, seed: int = 2026) -> Day:
    """Build (or reuse) the day in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    roster, db = folder / "roster.csv", folder / "journal.db"
    day = Day(folder, roster, f"sqlite:///{db}")
    if db.exists() and roster.exists():
        return day
    started = time.perf_counter()
    generate_roster(roster, payers, seed=seed, today=DAY)
    entries = load_roster(roster)
    journal = open_journal(f"sqlite:///{db}?synchronous=off", create=True)
    journal.migrate()
    rnd = random.Random(seed)
    plans: dict[str, list[tuple[RosterEntry, str, str | None]]] = defaultdict(list)
    for i, entry in enumerate(entries):
        draw = rnd.random()
        channel = _channel_of(entry, i)
        if draw < 0.04:
            day.outcomes["no attempt"] += 1
            continue
        outcome = (
            "declined" if draw < 0.06
            else "unknown" if draw < 0.062
            else "partial" if draw < 0.065 and channel == "bank"
            else "mismatch" if 0.065 <= draw < 0.0655
            else "paid"
        )  # fmt: skip
        day.outcomes[outcome] += 1
        plans[channel].append((entry, outcome, _operator(channel, entry, rnd)))
    for channel, items in sorted(plans.items()):
        _collect(journal, channel, items, day)
    _paid_twice(journal, plans, day)
    journal.close()
    day.seconds = time.perf_counter() - started
    return day


def _request_new(entry: RosterEntry, channel: str, outcome: str, operator: str | None) -> NewRecord:
    req = entry.request(channel)
    update: dict[str, object] = {"operator": operator}
    if outcome == "mismatch":
        update["amount"] = entry.amount + Money("100.00", "CNY")  # charged a higher grade
    req = req.model_copy(update=update)
    pid = f"pay_{req.idempotency_key.rsplit(':', 2)[-2]}{channel.replace('-', '')}"
    return NewRecord(id=pid, kind="payment", channel=channel, request=req, fingerprint=pid)


def _collect(
    journal: Journal, channel: str, items: list[tuple[RosterEntry, str, str | None]], day: Day
) -> None:
    dispatched = [Change(to_status=Status.DISPATCHED, new_attempt=True)]
    terminal = channel in TERMINALS
    size = BATCH if terminal else 20_000
    sheet: list[SettlementItem] = []
    booked = 0
    for b, start in enumerate(range(0, len(items), size)):
        chunk = items[start : start + size]
        at = T0 + timedelta(hours=b, minutes=1)
        news = [_request_new(e, channel, o, op) for e, o, op in chunk]
        journal.create_many(news, now=at, then=dispatched)
        rows: list[ResultRow] = []
        net = gross = count = 0
        first = booked % 9999 + 1
        for new, (_e, outcome, _op) in zip(news, chunk, strict=True):
            amount = new.request.amount.minor
            if outcome == "declined":
                rows.append(ResultRow(new.id, Status.DECLINED, reason=Reason.INSUFFICIENT_FUNDS))
                continue
            if outcome == "unknown":
                rows.append(ResultRow(new.id, Status.UNKNOWN, reason=Reason.NO_ANSWER))
                continue
            taken = amount // 2 if outcome == "partial" else amount
            ref = None
            if terminal:
                booked += 1
                ref = f"2900{channel[-1]}234/{(booked - 1) % 9999 + 1:04d}/{booked:06d}"
            rows.append(ResultRow(new.id, Status.SUCCEEDED, taken_minor=taken, channel_ref=ref))
            net, gross, count = net + taken, gross + taken, count + 1
            sheet.append(SettlementItem(new.id, "payment", taken, ref or new.id))
        _apply(journal, rows, channel, at + timedelta(minutes=20))
        day.payments += len(news)
        if terminal:
            _record(journal, channel, Settlement(
                SettlementKind.TERMINAL, f"eod-{b}", f"ZVT end of day {b + 1}", "CNY",
                at + timedelta(minutes=50), net, count, gross, 0, 0,
                receipts=(first, (booked - 1) % 9999 + 1),
            ))  # fmt: skip
        elif channel == "bank":
            _record(journal, channel, Settlement(
                SettlementKind.BANK, f"result-{b}", f"result file RES{b:04d}.xml", "CNY",
                at + timedelta(hours=5), net, count, gross, 0, 0,
            ))  # fmt: skip
    if channel in ("wx", "ali"):
        _bill(journal, channel, sheet)


def _apply(journal: Journal, rows: list[ResultRow], channel: str, at: datetime) -> None:
    for done in journal.apply_results(iter(rows), channel=channel, via="benchmark", now=at):
        if done.leftovers:
            raise RuntimeError(f"{len(done.leftovers)} rows were not plain moves")


def _bill(journal: Journal, channel: str, items: list[SettlementItem]) -> None:
    paid = sum(i.minor for i in items)
    _record(journal, channel, Settlement(
        SettlementKind.PROVIDER, DAY.isoformat(), f"{channel} bill of {DAY}", "CNY",
        T0 + timedelta(days=1), paid, len(items), paid, 0, 0, dates=(DAY.isoformat(),),
        items=tuple(items),
    ))  # fmt: skip


def _record(journal: Journal, channel: str, s: Settlement) -> None:
    entry = journal.state_get(channel, s.state_key)
    journal.state_put(
        channel, s.state_key, s.to_json(), expected_version=entry.version if entry else 0,
        now=s.recorded_at,
    )  # fmt: skip


def _paid_twice(
    journal: Journal,
    plans: dict[str, list[tuple[RosterEntry, str, str | None]]],
    day: Day,
) -> None:
    """A few hall payers pay again on WeChat Pay; a few strangers pay too."""
    twice = [e for e, o, _op in plans.get("hall-1", []) if o == "paid"][::1000]
    news = [_request_new(e, "wx", "paid", None) for e in twice]
    news = [
        NewRecord(
            n.id + "x2",
            "payment",
            "wx",
            n.request.model_copy(update={"idempotency_key": n.request.idempotency_key + "~2"}),
            n.fingerprint + "x2",
        )
        for n in news
    ]
    for k in range(20):  # strangers: not on the roster
        req = (
            news[0].request.model_copy(
                update={"payer_id": f"15222119900101{k:04d}", "idempotency_key": f"stranger-{k}"}
            )
            if news
            else None
        )
        if req is not None:
            news.append(NewRecord(f"pay_stranger{k:04d}", "payment", "wx", req, f"s{k}"))
    at = T0 + timedelta(hours=9)
    journal.create_many(news, now=at, then=[Change(to_status=Status.DISPATCHED, new_attempt=True)])
    rows = [ResultRow(n.id, Status.SUCCEEDED, taken_minor=n.request.amount.minor) for n in news]
    _apply(journal, rows, "wx", at)
    day.outcomes["paid twice"] += len(twice)
    day.outcomes["not in roster"] += len(news) - len(twice)
    entry = journal.state_get("wx", f"settlement:provider:{DAY.isoformat()}")
    if entry is not None and isinstance(entry.value, dict):
        bill = Settlement.from_json(entry.value)
        extra = tuple(SettlementItem(n.id, "payment", n.request.amount.minor, n.id) for n in news)
        items = (bill.items or ()) + extra
        paid = sum(i.minor for i in items)
        _record(journal, "wx", Settlement(
            bill.kind, bill.key, bill.source, "CNY", bill.recorded_at, paid, len(items), paid,
            0, 0, dates=bill.dates, items=items,
        ))  # fmt: skip
