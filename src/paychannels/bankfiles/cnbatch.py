"""Chinese batch-deduction files: request (报盘) and result (回盘), for any ``Layout``.

The request carries our own serial (the end-to-end id) on every row, because banks' result
files have no id of their own to match on. A result row states the amount asked and the
amount actually taken (实扣金额): partial debits exist and are kept apart. Totals lines are
checked against the rows, or the whole file is refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from paychannels.bankfiles.errors import BankFileError
from paychannels.bankfiles.layout import Layout
from paychannels.bankfiles.model import BatchSpan, Creditor, Debit, FileTotals
from paychannels.bankfiles.reasoncodes import lookup
from paychannels.bankfiles.results import FileHeader, Outcome, TxResult
from paychannels.bankfiles.textfile import LineWriter, read_lines

__all__ = ["read_request", "read_result", "request_values", "write_request"]


class _Hashing:
    """A binary file that hashes what is written to it."""

    def __init__(self, fh: Any) -> None:
        self.fh = fh
        self.sha256 = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        return int(self.fh.write(data))


def _summary(
    batch_count: int, batch_sum: int, msg_id: str, creditor: Creditor | None, when: Any
) -> dict[str, Any]:
    return {
        "count": batch_count,
        "total": batch_sum,
        "msg_id": msg_id,
        "date": when,
        "creditor_account": creditor.account if creditor else None,
        "creditor_name": creditor.name if creditor else None,
    }


def write_request(
    path: Path,
    layout: Layout,
    *,
    creditor: Creditor,
    msg_id: str,
    created_at: datetime,
    batch: BatchSpan,
    debits: Iterable[Debit],
) -> tuple[FileTotals, str]:
    """Write one request file (one batch); returns the totals written and the SHA-256."""
    totals = FileTotals()
    with open(path, "wb", buffering=1 << 20) as raw:
        out = _Hashing(raw)
        writer = LineWriter(out, layout, layout.request, name=path.name)  # type: ignore[arg-type]
        summary = _summary(batch.count, batch.sum_minor, msg_id, creditor, batch.collection_date)
        summary["created"] = created_at.date()
        if layout.request.header:
            writer.write("header", summary)
        for row, debit in enumerate(debits, start=1):
            if row > batch.count:
                raise BankFileError(
                    path, f"more debits than the {batch.count} planned", line=writer.line
                )
            if debit.currency != layout.currency:
                raise BankFileError(
                    path,
                    f"debit in {debit.currency}; the layout takes {layout.currency}",
                    line=writer.line + 1,
                )
            writer.write("detail", request_values(row, debit))
            totals.add(debit.amount_minor)
        if (totals.count, totals.sum_minor) != (batch.count, batch.sum_minor):
            raise BankFileError(
                path,
                f"planned {batch.count} debits / {batch.sum_minor} fen, "
                f"wrote {totals.count} / {totals.sum_minor}",
            )
        if layout.request.trailer:
            writer.write("trailer", summary)
    totals.batches.append((msg_id, totals.count, totals.sum_minor))
    return totals, out.sha256.hexdigest()


def request_values(row: int, d: Debit) -> dict[str, Any]:
    """The values of a request line, by field source."""
    return {
        "row": row,
        "serial": d.end_to_end_id,
        "account": d.account,
        "name": d.name,
        "amount": d.amount_minor,
        "payer_id": d.payer_id,
        "bank": d.bank,
        "mandate_id": d.mandate_id,
        "mandate_date": d.mandate_date,
        "collection_date": d.collection_date,
        "remittance": d.remittance,
        "currency": d.currency,
    }


def read_request(path: Path, layout: Layout) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """Request lines, checked against the totals line when the layout has one."""
    count = total = 0
    for kind, line, values in read_lines(path, layout, layout.request):
        if kind == "detail":
            count += 1
            total += values["amount"]
            if values.get("row") not in (None, count):
                raise BankFileError(
                    path, f"row number {values['row']}, expected {count}", line=line
                )
        elif kind == "trailer" and (values.get("count"), values.get("total")) != (count, total):
            raise BankFileError(
                path,
                f"totals line says {values.get('count')} / {values.get('total')}, "
                f"rows add up to {count} / {total}",
                line=line,
            )
        yield kind, line, values


def _outcome(
    layout: Layout, flag: str, asked: int, taken: int | None
) -> tuple[Outcome, int | None]:
    meaning = layout.flags.get(flag)
    if meaning is None:
        return "unknown", None
    if meaning in ("succeeded", "partial"):
        if taken is None or taken == 0 or taken > asked:
            return "unknown", None
        return "succeeded", taken
    if meaning == "failed":
        return "failed", None
    return "pending", None


def read_result(path: Path, layout: Layout) -> Iterator[FileHeader | TxResult]:
    """A result file: its header first (which request it answers), then each row."""
    match = layout.result_regex().match(path.name)
    if match is None:
        raise BankFileError(
            path, f"not named like a {layout.name} result file ({layout.result_name})"
        )
    msg_id = match.group("msg_id")
    yield FileHeader(f"text:{layout.name}", None, msg_id)
    count = total = ok = taken_total = 0
    summaries: list[tuple[int, dict[str, Any]]] = []
    for kind, line, v in read_lines(path, layout, layout.result):
        if kind == "detail":
            asked = v["amount"]
            outcome, taken = _outcome(layout, str(v["flag"]), asked, v.get("taken"))
            count += 1
            total += asked
            if outcome == "succeeded":
                ok += 1
                taken_total += taken or 0
            reason = None
            if outcome == "failed":
                reason = lookup(v.get("code"), v.get("message")).code
            yield TxResult(
                ref=str(v["serial"]),
                code=str(v["flag"]),
                outcome=outcome,
                reason=reason,
                info=v.get("message"),
                requested_minor=asked,
                taken_minor=taken,
                currency=layout.currency,
                original_msg_id=msg_id,
                line=line,
            )
        else:
            summaries.append((line, v))
    for line, v in summaries:  # header and totals line, checked once every row is counted
        _check_summary(path, line, v, msg_id, (count, total, ok, taken_total))


def _check_summary(
    path: Path, line: int, v: dict[str, Any], msg_id: str, got: tuple[int, int, int, int]
) -> None:
    if v.get("msg_id") not in (None, msg_id):
        raise BankFileError(path, f"answers {v['msg_id']}, the file name says {msg_id}", line=line)
    stated = (v.get("count"), v.get("total"), v.get("ok_count"), v.get("taken_total"))
    for name, want, have in zip(
        ("count", "total", "ok_count", "taken_total"), stated, got, strict=True
    ):
        if want is not None and want != have:
            raise BankFileError(
                path, f"totals line says {name} {want}, the rows add up to {have}", line=line
            )
