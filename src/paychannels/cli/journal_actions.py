"""What ``paychannels journal list|show|migrate|verify|backup|restore|settle`` do
(``journal_cmd`` declares the arguments; this module loads only when a journal command runs)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from paychannels.console.interrupt import watched
from paychannels.console.readable import counts, more_line, summary_line
from paychannels.console.tables import print_table
from paychannels.journal import SCHEMA_VERSION, Journal, open_journal
from paychannels.journal import backup as backups
from paychannels.security.masking import mask_payer_id
from paychannels.values.models import Event, Record
from paychannels.values.status import Status

__all__ = ["backup", "list_records", "migrate", "restore", "settle", "show", "verify"]


def _open(args: argparse.Namespace, *, check: bool = True) -> Journal:
    # Only ``migrate`` creates; every other action reads a journal that must already exist.
    journal = watched(args, open_journal(args.db or args.default_db(), create=not check))
    if check:
        try:
            journal.check_schema()
        except BaseException:
            journal.close()
            raise
    return journal


def _record_json(r: Record) -> dict[str, Any]:
    data = r.model_dump(mode="json", exclude={"payer_name"})
    data["payer_id"] = mask_payer_id(r.payer_id)
    return data


def list_records(args: argparse.Namespace) -> int:
    """``journal list``: payments and refunds, payer ids masked; says when it shows only part."""
    limit = None if args.all else args.limit
    with _open(args) as journal:
        records, rest = _matching(journal, args, limit)
    more = more_line(rest, how="--limit N or --all to see them")
    if args.json:
        print(json.dumps([_record_json(r) for r in records], ensure_ascii=False, indent=2))
        if more:
            print(more, file=sys.stderr)  # stdout stays the rows, as machines read them
        return 0
    if not records:
        print("no payments match")
        return 0
    print_table(
        ("ID", "STATUS", "CHANNEL", "PAYER", "AMOUNT", "REFERENCE", "UPDATED UTC"),
        [
            (
                r.id,
                r.status.value + (" !" if r.attention else ""),
                r.channel,
                mask_payer_id(r.payer_id),
                r.amount.format(),
                r.reference,
                r.updated_at.strftime("%Y-%m-%d %H:%M:%S"),
            )
            for r in records
        ],
        right=(4,),
    )
    if more:
        print(more)
    return 0


def _matching(
    journal: Journal, args: argparse.Namespace, limit: int | None
) -> tuple[list[Record], int]:
    """The first ``limit`` records matching the filters (all for None), and how many more match.

    Pages by id, so ``--all`` over a season's journal holds one page of the rest at a time.
    """
    shown: list[Record] = []
    rest = 0
    after: str | None = None
    while True:
        page = journal.find(
            statuses=[Status(s) for s in args.status] if args.status else None,
            channel=args.channel,
            payer_id=args.payer,
            attention=True if args.attention else None,
            after_id=after,
            limit=_PAGE,
        )
        room = len(page) if limit is None else max(0, min(len(page), limit - len(shown)))
        shown.extend(page[:room])
        rest += len(page) - room
        if len(page) < _PAGE:
            return shown, rest
        after = page[-1].id


_PAGE = 1000


def _event_line(ev: Event) -> str:
    move = f"{ev.from_status or '-'} -> {ev.to_status}" if ev.to_status else ev.type.value
    detail = summary_line(ev.data) if ev.data else ""  # as people read it; --json has the data
    return f"  #{ev.seq:<6} {ev.at:%Y-%m-%d %H:%M:%S}  {move:<28} {detail}"


def show(args: argparse.Namespace) -> int:
    """``journal show``: one payment or refund with every event."""
    with _open(args) as journal:
        record = journal.get(args.id)
        events = journal.events(record_id=args.id, limit=100_000)
    if args.json:
        out = _record_json(record)
        out["events"] = [e.model_dump(mode="json") for e in events]
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 0
    print(f"{record.kind} {record.id}  {record.status.value}")
    print(f"  channel     {record.channel}  ref {record.channel_ref or '-'}")
    print(f"  payer       {mask_payer_id(record.payer_id)}  reference {record.reference}")
    taken = record.amount_taken.format() if record.amount_taken else "-"
    print(f"  amount      {record.amount.format()}  taken {taken}")
    if record.reason:
        print(f"  reason      {record.reason.value} ({record.reason_detail or ''})")
    if record.attention:
        print(f"  ATTENTION   {record.attention}")
    print("  events (times in UTC, as the journal keeps them):")
    for ev in events:
        print(_event_line(ev))
    return 0


def migrate(args: argparse.Namespace) -> int:
    """``journal migrate``: create a journal where none is, or upgrade its schema."""
    with _open(args, check=False) as journal:
        before, after = journal.migrate()
        before = 0 if journal.created else before
        url = journal.url
    if args.json:
        print(json.dumps({"journal": url, "from": before, "to": after}))
    elif before == 0:
        print(f"{url}: created a new journal at schema version {after}")
    elif before == after:
        print(f"{url}: schema already at version {after}")
    else:
        print(f"{url}: schema migrated from version {before} to {after}")
    return 0


def verify(args: argparse.Namespace) -> int:
    """``journal verify``: replay the events and compare with the states; 1 on a mismatch."""
    problems: dict[str, list[str]] = {}
    checked = 0
    with _open(args) as journal:  # not a journal, or not this version: an error, exit 2
        for record_id, found in journal.audit():
            checked += 1
            if found:
                problems[record_id] = found
        statuses = {s.value: n for s, n in journal.count_by_status().items() if n}
    if args.json:
        print(
            json.dumps(
                {
                    "checked": checked,
                    "schema": SCHEMA_VERSION,
                    "statuses": statuses,
                    "problems": problems,
                }
            )
        )
    else:
        print(
            f"checked {checked:,} records at schema version {SCHEMA_VERSION}: "
            f"{len(problems)} with problems"
        )
        print(f"  by status: {counts(statuses)}")
        for rid, found in problems.items():
            for p in found:
                print(f"  {rid}: {p}")
    return 1 if problems else 0


def backup(args: argparse.Namespace) -> int:
    """``journal backup``: a consistent copy of a running journal (see journal.backup)."""
    return _said(backups.backup(args.db or args.default_db(), Path(args.to)), args, "backed up")


def restore(args: argparse.Namespace) -> int:
    """``journal restore``: a backup put where no journal is; then ``journal verify``."""
    return _said(backups.restore(Path(args.source), args.db or args.default_db()), args, "restored")


def _said(report: backups.BackupReport, args: argparse.Namespace, done: str) -> int:
    if args.json:
        out = {
            "journal": report.journal,
            "file": str(report.file),
            "method": report.method,
            "schema": report.schema_version,
            "records": report.records,
            "events": report.events,
        }
        print(json.dumps(out))
        return 0
    held = (
        f": {report.records:,} records, {report.events:,} events"
        if report.records is not None and report.events is not None
        else ""
    )
    where = (
        f"{report.journal} -> {report.file}"
        if done == "backed up"
        else (f"{report.file} -> {report.journal}")
    )
    print(f"{done} {where} ({report.method}, schema version {report.schema_version}){held}")
    return 0


def settle(args: argparse.Namespace) -> int:
    """``journal settle``: ``Collector.settle_manually`` — a person's decision, by name."""
    from paychannels.collector import Collector
    from paychannels.values.money import Money

    with watched(args, Collector.open(args.db or args.default_db(), migrate=False)) as col:
        before = col.journal.get(args.id)
        taken = None
        if args.amount_taken is not None:
            taken = Money.parse(args.amount_taken, before.amount.currency)
        after = col.settle_manually(
            args.id,
            Status(args.status),
            operator=args.operator,
            note=args.note,
            amount_taken=taken,
        )
    if args.json:
        print(json.dumps(_record_json(after), ensure_ascii=False))
        return 0
    move = (
        f"{before.status.value} -> {after.status.value}"
        if before.status is not after.status
        else f"{after.status.value} confirmed, attention cleared"
    )
    shown = f", taken {after.amount_taken.format()}" if after.amount_taken else ""
    print(f"{after.id}: {move}{shown} (decided by {args.operator})")
    return 0
