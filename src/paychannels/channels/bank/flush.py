"""Cutting the spool into request files: plan, write, recount, record, publish, archive.

The order is the safety argument. A spool file is renamed ``*.flushing`` (new debits start a
new spool file), its plan (message ids, creation time, which debits go in which file) is
recorded in the ledger, each file is written under a hidden name, read back and recounted,
recorded in the ledger, and only then renamed into the outbox; last the spool moves to
``archive/``. A crash anywhere resumes from the ledger with the same ids and the same bytes,
and a file is never published twice.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from paychannels.bankfiles.errors import BankFileError
from paychannels.bankfiles.ids import message_id
from paychannels.bankfiles.model import BatchSpan, Creditor, Debit, RequestFile
from paychannels.bankfiles.split import Limits, plan_files
from paychannels.channels.bank import spool as spooling
from paychannels.channels.bank.exchange import Exchange
from paychannels.channels.bank.formats import Format
from paychannels.channels.bank.ledger import Ledger
from paychannels.channels.bank.spoolplan import SpoolPlan, read_plan
from paychannels.runtime.clock import Clock

__all__ = ["Flusher", "archived_batches", "archived_debits"]

log = logging.getLogger("paychannels.channels.bank")


@dataclass
class Flusher:
    """Everything a flush needs; ``run`` flushes every spool group."""

    exchange: Exchange
    fmt: Format
    creditor: Creditor
    limits: Limits
    ledger: Ledger
    clock: Clock
    tz: timezone

    def run(self) -> list[RequestFile]:
        """Resume interrupted flushes, then flush every spool group; the files published."""
        done: list[RequestFile] = []
        spool = spooling.Spool(self.exchange.spool)
        for path in spool.flushing():
            done.extend(self._flush(path))
        for _group, path in spool.groups():
            token = f"{self.ledger.number('flush'):08d}"
            taken = path.with_name(f"{path.stem}.{token}.flushing")
            path.rename(taken)
            done.extend(self._flush(taken))
        return done

    def _plan(self, path: Path) -> dict[str, Any]:
        token = path.stem.rpartition(".")[2]
        key = f"flush:{token}"
        plan = self.ledger.get(key)
        if plan is not None:
            return plan
        read = read_plan(path)  # the one full pass
        try:
            plan = self._cut(token, read)
        finally:
            read.close()
        if plan["files"]:
            self.ledger.put(key, plan)
        return plan

    def _cut(self, token: str, read: SpoolPlan) -> dict[str, Any]:
        """The request files a spool's debits are cut into: ids, batches, and where each
        starts in the spool (a file then reads the spool from its own offset)."""
        first = read.first
        if first is None:
            return {"token": token, "files": []}
        files = plan_files(
            [(first.collection_date, first.sequence, read.amounts())],
            self.fmt.limits(self.limits),
        )
        now = self.clock.now()
        today = now.astimezone(self.tz).date()
        planned = []
        for batches in files:
            msg = message_id(self.creditor.msg_prefix, today, self.ledger.number("file"))
            start, stop = batches[0].start, batches[-1].start + batches[-1].count
            begin, end = read.offset(start), read.offset(stop)
            assert begin is not None  # (a file starts at one of the plan's debits)
            planned.append(
                {
                    "msg_id": msg,
                    "name": self.fmt.file_name(msg),
                    "batches": [[b.start, b.count, b.sum_minor] for b in batches],
                    "offset": begin,
                    "skip": [
                        e for at, e in read.skipped if at >= begin and (end is None or at < end)
                    ],
                }
            )
        return {
            "token": token,
            "created_at": now.isoformat(),
            "collection_date": first.collection_date.isoformat(),
            "sequence": first.sequence,
            "files": planned,
        }

    def _flush(self, path: Path) -> list[RequestFile]:
        plan = self._plan(path)
        archive = f"{plan['token']}.jsonl"
        out = []
        for planned in plan["files"]:
            if self.ledger.sent(planned["msg_id"]) is None:
                out.append(self._write(path, plan, planned, archive))
        if path.exists():  # the spool becomes the record of what the files held
            os.replace(path, self.exchange.archive / archive)
        return out

    def _write(
        self, path: Path, plan: dict[str, Any], planned: dict[str, Any], archive: str
    ) -> RequestFile:
        when = datetime.fromisoformat(plan["created_at"])
        day = datetime.fromisoformat(plan["collection_date"]).date()
        batches = [BatchSpan(0, s, c, t, day, plan["sequence"]) for s, c, t in planned["batches"]]
        start = batches[0].start
        stop = batches[-1].start + batches[-1].count
        name = planned["name"]
        temp = self.exchange.temp_for(name)
        debits = _debits(path, planned, start, stop - start)
        totals, sha = self.fmt.write(
            temp,
            creditor=self.creditor,
            msg_id=planned["msg_id"],
            created_at=when,
            batches=batches,
            debits=debits,
        )
        recount = self.fmt.recount(temp)
        if recount != (totals.count, totals.sum_minor):
            temp.unlink(missing_ok=True)
            raise BankFileError(
                name, f"read back {recount}, wrote {totals.count} / {totals.sum_minor}"
            )
        entry = {
            "msg_id": planned["msg_id"],
            "name": name,
            "format": self.fmt.name,
            "sha256": sha,
            "count": totals.count,
            "sum_minor": totals.sum_minor,
            "currency": self.creditor.currency,
            "created_at": plan["created_at"],
            "collection_date": plan["collection_date"],
            "archive": archive,
            "offset": planned.get("offset"),
            "skip": planned.get("skip", []),
            "batches": [
                [bid, b.start, b.count, b.sum_minor]
                for (bid, _c, _s), b in zip(totals.batches, batches, strict=True)
            ],
        }
        self.ledger.record_sent(entry)
        self.exchange.publish(temp, name)
        log.info("published %s: %d debits, %d minor units", name, totals.count, totals.sum_minor)
        return RequestFile(
            path=str(self.exchange.outbox / name),
            format=self.fmt.name,
            msg_id=planned["msg_id"],
            created_at=when,
            count=totals.count,
            sum_minor=totals.sum_minor,
            currency=self.creditor.currency,
            sha256=sha,
            batches=tuple(totals.batches),
        )


def _debits(path: Path, where: dict[str, Any], first: int, count: int) -> Iterator[Debit]:
    """The ``count`` debits of one request file, read from the byte offset its plan or
    ledger entry names; one recorded before offsets were kept counts from the start."""
    offset = where.get("offset")
    if offset is None:
        return itertools.islice(spooling.debits(path), first, first + count)
    found = spooling.debits_from(path, offset, frozenset(where.get("skip") or ()))
    return itertools.islice((debit for _at, debit in found), count)


def archived_batches(exchange: Exchange, entry: dict[str, Any]) -> Iterator[tuple[str, Debit]]:
    """Each debit a sent file held, with its batch id, from the archive in one pass."""
    path = exchange.archive / entry["archive"]
    if not path.exists():
        return
    batches = entry["batches"]
    debits = _debits(path, entry, batches[0][1], sum(b[2] for b in batches))
    for bid, _start, count, _sum in batches:
        for debit in itertools.islice(debits, count):
            yield bid, debit


def archived_debits(
    exchange: Exchange, entry: dict[str, Any], batch_id: str | None = None
) -> Iterator[Debit]:
    """The debits a sent file (or one of its batches) held, from the archive."""
    for bid, debit in archived_batches(exchange, entry):
        if batch_id is None or bid == batch_id:
            yield debit


def utc_offset(hours: float) -> timezone:
    """The channel's local time zone as a fixed offset (China: +8, no daylight saving)."""
    return timezone(timedelta(hours=hours))
