"""What ``paychannels batch build|ingest|validate|resubmit`` do (``batch_cmd`` declares the
arguments; this module loads only when a batch command runs)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from paychannels.bankfiles.model import Creditor
from paychannels.bankfiles.split import Limits
from paychannels.bankfiles.validate import check_totals, validate_xsd
from paychannels.channels.bank import BankBatchChannel, load_creditor, resubmit_retryable
from paychannels.channels.bank.formats import open_format
from paychannels.collector import Collector
from paychannels.console.interrupt import watched
from paychannels.console.progress import Progress
from paychannels.console.readable import summary_line
from paychannels.documents.roster import (
    RosterEntry,
    RosterError,
    RosterProblem,
    iter_roster,
    repeated,
)
from paychannels.documents.rosterorder import IndexOrder
from paychannels.values.errors import ConfigurationError, PaychannelsError
from paychannels.values.models import Payment

__all__ = ["build", "ingest", "resubmit", "validate"]

_CHUNK = 5000


def _collector(args: argparse.Namespace) -> Collector:
    # Only ``build --create`` may start a journal: ingesting a result file or resubmitting
    # into a new, empty one would lose track of every debit already sent.
    col = Collector.open(args.db or args.default_db(), create=getattr(args, "create", False))
    return watched(args, col)


def _config(col: Collector, name: str) -> dict[str, Any]:
    entry = col.journal.state_get(name, "config")
    if entry is None or not isinstance(entry.value, dict):
        raise ConfigurationError(
            f"channel {name!r} has no request files in {col.journal.url}: "
            "run 'paychannels batch build' first"
        )
    return entry.value


def _channel(col: Collector, name: str, config: dict[str, Any]) -> BankBatchChannel:
    limits = Limits(*config.get("limits", (0, 0, 0)))
    ch = BankBatchChannel(
        Path(config["exchange"]),
        format=open_format(config["format"], profile=config.get("profile", "iso")),
        creditor=Creditor.from_mapping(config["creditor"]),
        limits=limits,
    )
    col.add_channel(name, ch)
    return ch


def _check_roster(args: argparse.Namespace, order: IndexOrder) -> int:
    """The roster read once to check it (every problem refused before anything is journaled);
    the entries the build takes kept in ``order`` (on disk, sorted: a province's roster of
    millions is streamed back by ``_roster_chunks``), and a payer and period that come twice
    found there too, not in a set of every payer; how many entries are taken."""
    problems: list[RosterProblem] = []
    with Progress("reading roster") as bar:
        for item in iter_roster(args.roster, encoding=args.encoding, repeats=False):
            if isinstance(item, RosterEntry):
                order.add(item, taken=_taken(item, args))
            else:
                problems.append(item)
            bar.advance()
    name = Path(args.roster).name
    twice = [repeated(name, line, first) for line, first in order.repeats()]
    if problems or twice:
        raise RosterError(sorted(problems + twice, key=lambda p: p.line))
    return order.count


def _taken(entry: RosterEntry, args: argparse.Namespace) -> bool:
    return bool(args.all or not entry.channels or args.channel in entry.channels)


def _roster_chunks(order: IndexOrder) -> Iterator[list[RosterEntry]]:
    """The checked entries in chunks, in the journal's index order (payer, reference): each
    chunk's commit adds to the end of the payer indexes instead of rewriting them all (the
    roster's own order, by village, made the bytes written grow with the square of N)."""
    chunk: list[RosterEntry] = []
    for item in order.entries():
        chunk.append(item)
        if len(chunk) >= _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def build(args: argparse.Namespace) -> int:
    """``batch build``: journal one debit per payer, then write the request files (idempotent)."""
    creditor = load_creditor(args.creditor)
    with IndexOrder() as order:
        return _build(args, creditor, _check_roster(args, order), order)


def _build(args: argparse.Namespace, creditor: Creditor, entries: int, order: IndexOrder) -> int:
    """``build`` once the roster is checked and ordered."""
    limits = (args.rows_per_file, args.batches_per_file, args.rows_per_batch)
    config = {
        "format": args.format,
        "profile": args.profile,
        "exchange": str(args.out.resolve()),
        "creditor": {k: getattr(creditor, k) for k in creditor.__dataclass_fields__},
        "limits": list(limits),
    }
    with _collector(args) as col:
        old = col.journal.state_get(args.channel, "config")
        ch = _channel(col, args.channel, config)
        col.journal.state_put(
            args.channel,
            "config",
            config,
            expected_version=old.version if old else 0,
            now=col.clock.now(),
        )
        declined: dict[str, int] = {}
        refused: dict[str, int] = {}
        pending = 0
        with Progress("journaling debits", total=entries) as bar:
            for chunk in _roster_chunks(order):
                requests = [_request(e, args) for e in chunk]
                for item in col.collect_many(requests, channel=args.channel):
                    if isinstance(item, Payment):
                        if item.status.value == "PENDING":
                            pending += 1
                        else:
                            key = f"{item.status.value} {item.reason_detail or ''}".strip()
                            declined[key] = declined.get(key, 0) + 1
                    else:
                        refused[type(item).__name__] = refused.get(type(item).__name__, 0) + 1
                bar.advance(len(requests))
        col.poll(args.channel)
        files = list(ch.published)
        if args.validate:
            for f in files:
                if f.path.endswith(".xml"):
                    _validate_file(Path(f.path), f.count)
    summary = {
        "roster_entries": entries,
        "pending": pending,
        "not_sent": declined,
        "refused": refused,
        "files": [
            {
                "path": f.path,
                "msg_id": f.msg_id,
                "debits": f.count,
                "sum_minor": f.sum_minor,
                "currency": f.currency,
                "sha256": f.sha256,
            }
            for f in files
        ],
        "validated": bool(args.validate),
    }
    _print(args, summary, _build_text)
    return 0


def _validate_file(path: Path, debits: int) -> str:
    """Streaming XSD validation with a progress bar (about 20 elements per debit)."""
    with Progress(f"validating {path.name}", total=max(debits * 20, 1)) as bar:

        def tick(_seen: int) -> None:
            bar.advance(100_000)

        return validate_xsd(path, progress=tick)


def _request(entry: RosterEntry, args: argparse.Namespace) -> Any:
    req = entry.request(args.channel)
    if args.date:
        req = req.model_copy(update={"metadata": {**req.metadata, "collection_date": args.date}})
    return req


def _build_text(s: dict[str, Any]) -> str:
    lines = [
        f"{s['roster_entries']:,} roster entries, {s['pending']:,} debits waiting for the bank"
    ]
    for what, n in sorted(s["not_sent"].items()):
        lines.append(f"  {n:,} not sent: {what}")
    for what, n in sorted(s["refused"].items()):
        lines.append(f"  {n:,} refused by the journal: {what}")
    for f in s["files"]:
        lines.append(
            f"wrote {f['path']}: {f['debits']:,} debits, "
            f"{f['sum_minor'] / 100:,.2f} {f['currency']}"
        )
    if not s["files"]:
        lines.append("no new request file (everything was already sent)")
    return "\n".join(lines)


def ingest(args: argparse.Namespace) -> int:
    """``batch ingest``: apply a result file to the journal once (a second time changes nothing)."""
    if not args.result.is_file():
        raise ConfigurationError(f"{args.result} is not a file")
    with _collector(args) as col:
        ch = _channel(col, args.channel, _config(col, args.channel))
        report = ch.report_for(args.result, col.channel_context(args.channel), move=False)
        if report is None:
            _print(
                args,
                {"file": args.result.name, "duplicate": True},
                lambda s: f"{s['file']} was applied before: nothing changed",
            )
            return 0
        summary = col.apply_report(args.channel, report)
    if summary.error is not None:
        raise PaychannelsError(f"nothing was applied: {summary.error}")
    _print(args, summary.as_dict(), _ingest_text)
    return 0


def _ingest_text(s: dict[str, Any]) -> str:
    moved = (
        ", ".join(f"{n:,} {status}" for status, n in sorted(s["moved"].items())) or "nothing moved"
    )
    return (
        f"{s['source']}: {s['rows']:,} rows; {moved}; {s['unchanged']:,} unchanged; "
        f"{s['attention']:,} need attention; {s['unmatched']:,} unmatched; "
        f"taken {s['taken_minor'] / 100:,.2f}"
    )


def validate(args: argparse.Namespace) -> int:
    """``batch validate``: the official XSD, streaming, and the control sums."""
    size = args.file.stat().st_size if args.file.exists() else 0
    message = _validate_file(args.file, size // 440)
    summary: dict[str, Any] = {"file": args.file.name, "message": message, "xsd": "valid"}
    if message.startswith("pain.008"):
        totals = check_totals(args.file)
        summary.update(
            msg_id=totals.msg_id,
            debits=totals.count,
            sum_minor=totals.sum_minor,
            batches=len(totals.batches),
            control_sums="match",
        )
    _print(args, summary, summary_line)
    return 0


def resubmit(args: argparse.Namespace) -> int:
    """``batch resubmit``: send retryable failures again, within the retry cap."""
    with _collector(args) as col:
        _channel(col, args.channel, _config(col, args.channel))
        summary = resubmit_retryable(col, args.channel)
        col.poll(args.channel)
    _print(args, summary.as_dict(), summary_line)
    return 0


def _print(
    args: argparse.Namespace, summary: dict[str, Any], text: Callable[[dict[str, Any]], str]
) -> None:
    print(json.dumps(summary, ensure_ascii=False, indent=2) if args.json else text(summary))
