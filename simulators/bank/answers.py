"""The simulated bank's answers, written from its ledger in the request's own format.

pain.008 requests are answered, by the simulator's ``reply`` setting, with a pain.002 that
lists every debit (``pain.002.001.03`` / ``.10``), or with a pain.002.001.10 listing the
refusals plus a camt.054 booking what was collected (``camt.054``). Text-layout requests get
the layout's result file (回盘). Late returns go out later as camt.054 debit entries.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from paychannels.bankfiles.layout import Layout
from paychannels.bankfiles.textfile import LineWriter
from paychannels.simulators.bank.outcomes import FAILURES
from paychannels.simulators.bank.replies import Booking, TxReply, write_camt054, write_pain002

__all__ = ["BankBooks", "answer_pain008", "answer_returns", "answer_text"]

_TAKEN = ("ok", "partial", "late_return")


class BankBooks(Protocol):
    """What answering needs of the simulated bank (``BankSimulator`` is one): its ledger,
    clock, reply format and account, ids, and the outbox an answer is published to."""

    db: sqlite3.Connection
    reply: str
    account: str
    clock: Callable[[], float]

    def next_id(self, prefix: str) -> str: ...

    def publish(self, name: str, write: Callable[[Path], None]) -> Path: ...


def _now(sim: BankBooks) -> datetime:
    return datetime.fromtimestamp(sim.clock(), UTC).replace(microsecond=0)


def _rows(sim: BankBooks, msg_id: str) -> Iterator[tuple[Any, ...]]:
    yield from sim.db.execute(
        "SELECT ref, batch_id, amount, currency, outcome, taken, name, account FROM debits "
        "WHERE msg_id = ? ORDER BY rowid",
        (msg_id,),
    )


def _by_batch(rows: Iterator[tuple[Any, ...]]) -> Iterator[tuple[str, Iterator[tuple[Any, ...]]]]:
    return ((str(batch), group) for batch, group in itertools.groupby(rows, key=lambda r: r[1]))


def _tx(row: tuple[Any, ...], *, full: bool) -> TxReply | None:
    ref, _batch, amount, ccy, outcome, _taken, _n, _a = row
    if outcome == "unreported":
        return None
    if outcome in _TAKEN:
        return TxReply(ref, "ACSC", amount, ccy) if full else None
    code, text = FAILURES[outcome]
    return TxReply(ref, "RJCT", amount, ccy, code, text)


def answer_pain008(
    sim: BankBooks, msg_id: str, message: str, *, rejected: tuple[str, str] | None
) -> list[Path]:
    """The answer to a pain.008 request (or its rejection, whole)."""
    version = sim.reply.rpartition(".")[2] if sim.reply.startswith("pain.002") else "10"
    full = sim.reply.startswith("pain.002")
    name = f"PAIN002_{msg_id}.xml"
    counts = dict(
        sim.db.execute(
            "SELECT outcome, COUNT(*) FROM debits WHERE msg_id = ? GROUP BY outcome", (msg_id,)
        ).fetchall()
    )
    total = sum(counts.values())
    if rejected is not None:
        status, reason, info = "RJCT", rejected[0], rejected[1]
    elif not total:
        status, reason, info = "RJCT", "FF01", "no debits"
    elif counts.get("unreported") or (not full and set(counts) - set(_TAKEN)):
        status, reason, info = "PART", None, None
    elif set(counts) <= set(_TAKEN):
        status, reason, info = ("ACSC" if full else "ACCP"), None, None
    elif not set(counts) & set(_TAKEN):
        status, reason, info = "RJCT", None, None
    else:
        status, reason, info = "PART", None, None
    batches = (
        (batch, (tx for tx in (_tx(r, full=full) for r in group) if tx is not None))
        for batch, group in _by_batch(_rows(sim, msg_id))
    )

    def write(path: Path) -> None:
        with open(path, "w", encoding="utf-8") as out:
            write_pain002(
                out,
                version=version,
                msg_id=sim.next_id("RPT"),
                created_at=_now(sim),
                original_msg_id=msg_id,
                original_message=message,
                original_count=total or None,
                group_status=status,
                group_reason=reason,
                group_info=info,
                batches=batches if rejected is None else (),
            )

    written = [sim.publish(name, write)]
    if not full and rejected is None and any(counts.get(o) for o in _TAKEN):
        written.append(_camt(sim, msg_id, returned=False))
    return written


def _camt(sim: BankBooks, msg_id: str, *, returned: bool) -> Path:
    query = "SELECT ref, msg_id, batch_id, taken, amount, currency, outcome FROM debits " + (
        "WHERE return_due IS NOT NULL AND returned IS NULL AND return_due <= ? ORDER BY rowid"
        if returned
        else "WHERE msg_id = ? AND taken > 0 ORDER BY rowid"
    )
    arg: Any = sim.clock() if returned else msg_id
    rows = list(sim.db.execute(query, (arg,))) if returned else sim.db.execute(query, (arg,))
    entries: Iterator[tuple[str, list[Booking]]] = (
        (
            str(batch),
            [
                Booking(
                    r[0],
                    r[1],
                    r[2],
                    r[3],
                    r[4],
                    r[5],
                    returned=returned,
                    reason="MD06" if returned else None,
                    info="客户要求退款 (payer asked for a refund)" if returned else None,
                )
                for r in group
            ],
        )
        for batch, group in itertools.groupby(rows, key=lambda r: r[2])
    )
    name = f"CAMT054_{sim.next_id('NTF')}.xml"

    def write(path: Path) -> None:
        with open(path, "w", encoding="utf-8") as out:
            write_camt054(
                out,
                msg_id=name[8:-4],
                created_at=_now(sim),
                account=sim.account,
                booked_on=_now(sim).date(),
                entries=entries,
            )

    out = sim.publish(name, write)
    if returned:
        sim.db.executemany(
            "UPDATE debits SET returned = ? WHERE ref = ?", [(sim.clock(), r[0]) for r in rows]
        )
    return out


def answer_returns(sim: BankBooks) -> list[Path]:
    """A camt.054 with every late return that is due, if any."""
    due = sim.db.execute(
        "SELECT COUNT(*) FROM debits "
        "WHERE return_due IS NOT NULL AND returned IS NULL AND return_due <= ?",
        (sim.clock(),),
    ).fetchone()[0]
    return [_camt(sim, "", returned=True)] if due else []


def _flag(layout: Layout, meaning: str) -> str:
    return next(k for k, v in layout.flags.items() if v == meaning)


def answer_text(sim: BankBooks, msg_id: str, layout: Layout) -> list[Path]:
    """The layout's result file (回盘) for a text request."""
    name = layout.result_name.format(msg_id=msg_id)
    taken_sql = ",".join(f"'{o}'" for o in _TAKEN)
    count, total, ok, taken_total = sim.db.execute(
        f"SELECT COUNT(*), COALESCE(SUM(amount), 0), COUNT(CASE WHEN outcome IN ({taken_sql}) "
        f"THEN 1 END), COALESCE(SUM(CASE WHEN outcome IN ({taken_sql}) THEN taken END), 0) "
        "FROM debits WHERE msg_id = ? AND outcome <> 'unreported'",
        (msg_id,),
    ).fetchone()
    totals = {
        "count": count,
        "total": total,
        "ok_count": ok,
        "taken_total": taken_total,
        "msg_id": msg_id,
        "date": _now(sim).date(),
    }

    def write(path: Path) -> None:
        with open(path, "wb") as out:
            lines = LineWriter(out, layout, layout.result, name=name)
            if layout.result.header:
                lines.write("header", totals)
            row = 0
            for ref, _b, amount, _ccy, outcome, taken, dname, account in _rows(sim, msg_id):
                if outcome == "unreported":
                    continue
                row += 1
                values: dict[str, Any] = {
                    "row": row,
                    "serial": ref,
                    "amount": amount,
                    "name": dname,
                    "account": account,
                }
                if outcome in _TAKEN:
                    meaning = "partial" if outcome == "partial" else "succeeded"
                    values.update(flag=_flag(layout, meaning), taken=taken)
                else:
                    code, text = FAILURES[outcome]
                    values.update(flag=_flag(layout, "failed"), taken=0, code=code, message=text)
                lines.write("detail", values)
            if layout.result.trailer:
                lines.write("trailer", totals)

    return [sim.publish(name, write)]
