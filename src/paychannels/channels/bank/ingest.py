"""A result file as a ``Report``: what the bank says, debit by debit, as journal rows.

The file is read once, streaming, and must be entirely readable or nothing of it is applied
(the Collector stages every row first). A pain.002 or text result that answers a file we
never sent is refused (``UnknownBatch``) and quarantined. A status for a whole file or batch
(pain.002 ``GrpSts``/``PmtInfSts``, a camt.054 batch booking) applies to the debits the file
does not list one by one — only when it is explicit: rejected, or settled; "partly accepted"
says nothing about the unlisted ones, which stay PENDING. A debit the file does not mention
is not a success.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from paychannels.bankfiles.camt054 import read_camt054
from paychannels.bankfiles.checks import format_minor
from paychannels.bankfiles.cnbatch import read_result
from paychannels.bankfiles.errors import BankFileError, UnknownBatch
from paychannels.bankfiles.ids import end_to_end_id, payment_of
from paychannels.bankfiles.layout import Layout
from paychannels.bankfiles.pain002 import NAMESPACES, read_pain002
from paychannels.bankfiles.reasoncodes import ReasonCode, describe, lookup
from paychannels.bankfiles.results import BatchBooking, FileHeader, Statement, TxResult
from paychannels.bankfiles.xmlread import namespace_of
from paychannels.channels.bank.exchange import Exchange
from paychannels.channels.bank.flush import archived_debits
from paychannels.channels.bank.ledger import Ledger
from paychannels.channels.bank.members import Members, RefSet
from paychannels.channels.bank.stated import StatedTotals
from paychannels.channels.settlement import record_settlement
from paychannels.values.currencies import currency
from paychannels.values.errors import PaychannelsError
from paychannels.values.reasons import Reason
from paychannels.values.results import Report, ReportSummary, ResultRow
from paychannels.values.status import Status

__all__ = ["ResultFileReport", "file_sha256", "result_items"]

log = logging.getLogger("paychannels.channels.bank")
_CAMT = "urn:iso:std:iso:20022:tech:xsd:camt.054.001."


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def result_items(
    path: Path, layout: Layout | None
) -> Iterator[FileHeader | Statement | TxResult | BatchBooking]:
    """The items of any result file we read, by what the file turns out to be."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(64).lstrip(b"\xef\xbb\xbf \r\n\t")
    except OSError as exc:
        raise BankFileError(path, f"cannot read: {exc.strerror or exc}") from None
    if head.startswith(b"<"):
        ns = namespace_of(path)
        if ns in NAMESPACES:
            return read_pain002(path)
        if ns.startswith(_CAMT):
            return read_camt054(path)
        raise BankFileError(
            path, f"an XML file but not a result we read ({ns or 'no namespace'})", line=1
        )
    if layout is not None:
        return read_result(path, layout)
    raise BankFileError(path, "not a pain.002 or camt.054 file")


@lru_cache(maxsize=1024)
def _reason(code: str | None, info: str | None) -> tuple[ReasonCode, str]:
    rc = lookup(code, info)
    return rc, describe(rc, info)


def _row(tx: TxResult, pid: str, attempt: int | None) -> ResultRow:
    """The row for one debit, naming the dispatch attempt its end-to-end id carries."""
    row = _status_row(tx, pid)
    row.attempt = attempt
    row.line = tx.line or None
    return row


def _attempt_of(end_to_end: str) -> int | None:
    ours = payment_of(end_to_end)
    return None if ours is None else ours[1]


def _status_row(tx: TxResult, pid: str) -> ResultRow:
    outcome = tx.outcome
    if outcome == "succeeded":
        return ResultRow(
            pid,
            Status.SUCCEEDED,
            taken_minor=tx.taken_minor if tx.taken_minor is not None else tx.requested_minor,
            amount_minor=tx.requested_minor,
            currency=tx.currency,
            reason_detail=tx.code,
        )
    if outcome in ("failed", "returned"):
        rc, detail = _reason(tx.reason, tx.info)
        return ResultRow(
            pid,
            Status.DECLINED if outcome == "failed" else Status.REVERSED,
            amount_minor=tx.requested_minor,
            currency=tx.currency,
            reason=rc.reason,
            reason_detail=detail,
            problem=None if rc.known else f"unknown reason code {rc.code!r} (kept; look it up)",
        )
    if outcome == "pending":
        return ResultRow(
            pid,
            Status.PENDING,
            amount_minor=tx.requested_minor,
            currency=tx.currency,
            reason_detail=tx.code,
        )
    return ResultRow(
        pid,
        Status.PENDING,
        amount_minor=tx.requested_minor,
        currency=tx.currency,
        problem=f"unknown status code {tx.code!r} from the bank (kept; a person must decide)",
    )


class _Expansion:
    """A status for all unlisted debits of a file or batch."""

    def __init__(self, entry: dict[str, Any], batch: str | None, tx: TxResult) -> None:
        self.entry, self.batch, self.tx = entry, batch, tx


class _SentIndex:
    """Which batch each debit of a sent request file is in, read once per file from the
    archive; and each file's ledger entry, read once per result file (not once per row)."""

    def __init__(self, exchange: Exchange, ledger: Ledger) -> None:
        self.exchange = exchange
        self.ledger = ledger
        self._entries: dict[str, dict[str, Any] | None] = {}
        self._files: dict[str, Members] = {}

    def sent(self, msg_id: str) -> dict[str, Any] | None:
        """The ledger entry of a request file we published (entries never change)."""
        if msg_id not in self._entries:
            self._entries[msg_id] = self.ledger.sent(msg_id)
        return self._entries[msg_id]

    def batch_of(self, entry: dict[str, Any], end_to_end: str) -> str | None:
        """The batch id of a debit of this file, or None when the file did not hold it."""
        msg_id = entry["msg_id"]
        members = self._files.get(msg_id)
        if members is None:
            path = self.exchange.archive / entry["archive"]
            if not path.exists():
                raise BankFileError(
                    entry["name"],
                    f"cannot check the answer: the archive {entry['archive']} of what "
                    f"{msg_id} held is gone",
                )
            members = self._files[msg_id] = Members.of(path, entry)
        return members.batch_of(end_to_end)


def _check_figures(
    path: Path,
    entry: dict[str, Any],
    batch_id: str | None,
    count: int | None,
    control_sum: Decimal | None,
    line: int,
) -> None:
    """The count and sum a result file states about a request file (or one of its batches)
    must be what we sent; otherwise it answers some other file and is refused."""
    where = f"{entry['name']} (message {entry['msg_id']})"
    sent_count, sent_sum = entry["count"], entry["sum_minor"]
    if batch_id is not None:
        where = f"batch {batch_id} of {where}"
        found = next(b for b in entry["batches"] if b[0] == batch_id)
        sent_count, sent_sum = found[2], found[3]
    if count is not None and count != sent_count:
        raise UnknownBatch(
            path, f"says {where} held {count} debits; we sent {sent_count}", line=line
        )
    if control_sum is not None:
        digits = currency(entry.get("currency") or "CNY").exponent
        if control_sum != Decimal(sent_sum).scaleb(-digits):
            sent = format_minor(sent_sum, digits)
            raise UnknownBatch(
                path, f"says {where} summed to {control_sum}; we sent {sent}", line=line
            )


class ResultFileReport(Report):
    """One result file from the inbox (or given by hand), applied all-or-nothing."""

    def __init__(
        self,
        *,
        path: Path,
        sha256: str,
        layout: Layout | None,
        ledger: Ledger,
        exchange: Exchange,
        move: bool = True,
    ) -> None:
        self.path = path
        self.sha256 = sha256
        self.layout = layout
        self.ledger = ledger
        self.exchange = exchange
        self.move = move
        self.source = f"result file {path.name}"
        self.answers: list[str] = []
        #: request files this file's rows name (camt.054 ``MsgId``): with ``answers``, the
        #: references the bank's credits to the collection account carry
        self.claimed: dict[str, None] = {}
        self.stated = StatedTotals()
        self.sent_index = _SentIndex(exchange, ledger)
        #: rows matched by end-to-end id alone (a camt.054 booking naming no request file)
        self.unclaimed = 0

    def rows(self) -> Iterator[ResultRow]:
        self.stated = StatedTotals()
        for row in self._rows():
            self.stated.add(row)
            yield row

    def _rows(self) -> Iterator[ResultRow]:
        try:
            yield from self._read()
        except (ArithmeticError, AttributeError, LookupError, TypeError, ValueError) as exc:
            # a reader met a shape it does not handle: the file is refused (quarantined,
            # nothing applied) like any unreadable file, and the inbox goes on; logged as a bug
            if isinstance(exc, PaychannelsError):
                raise
            log.exception("%s: reader failed on an unexpected shape", self.path.name)
            raise BankFileError(
                self.path, f"cannot be read ({type(exc).__name__}: {str(exc)[:200]})"
            ) from None

    def _read(self) -> Iterator[ResultRow]:
        listed = RefSet()  # 8 bytes a row: a file of millions stays small
        expansions: list[_Expansion] = []
        matched = foreign = 0
        for item in result_items(self.path, self.layout):
            if isinstance(item, FileHeader):
                self._header(item)
            elif isinstance(item, TxResult):
                ours = self._match(item)
                if ours is None:
                    foreign += 1
                    self.stated.foreign += 1
                    continue
                matched += 1
                listed.add(item.ref)
                if item.original_msg_id:
                    self.claimed.setdefault(item.original_msg_id)
                else:
                    self.unclaimed += 1
                yield _row(item, ours[0], ours[1])
            elif isinstance(item, Statement):
                expansions.extend(self._statement(item))
            else:
                expansions.extend(self._booking(item))
                if item.original_msg_id:
                    self.claimed.setdefault(item.original_msg_id)
        if not self.answers and not matched and not expansions:
            raise UnknownBatch(self.path, f"no entry refers to a debit we sent ({foreign} entries)")
        for exp in expansions:
            for debit in archived_debits(self.exchange, exp.entry, exp.batch):
                if debit.end_to_end_id in listed or debit.payment_id is None:
                    continue
                listed.add(debit.end_to_end_id)
                tx = exp.tx
                tx.requested_minor = tx.taken_minor = debit.amount_minor
                tx.currency = debit.currency
                yield _row(tx, debit.payment_id, _attempt_of(debit.end_to_end_id))

    def _match(self, tx: TxResult) -> tuple[str, int] | None:
        """The payment (and attempt) a row is about, matched on (original message id,
        end-to-end id).

        A row that names a request file (the file's own ``OrgnlMsgId``, a text result's
        name, camt.054 ``Refs``/``Btch`` ``MsgId``) must be a debit of that file, and of the
        batch it names; otherwise the whole file is refused. A camt.054 row that names no
        request file is matched by its end-to-end id alone (ours carry the payment id and
        attempt, so they cannot be another file's); rows that are not ours are skipped.
        """
        ours = payment_of(tx.ref)
        claim = tx.original_msg_id
        if claim is None:
            return ours
        entry = self.sent_index.sent(claim)
        if entry is None:
            if ours is None:
                return None  # another creditor's booking on the same account statement
            raise UnknownBatch(
                self.path,
                f"debit {tx.ref} is said to belong to message {claim}, "
                "which this channel never sent",
                line=tx.line,
            )
        debit_batch = self.sent_index.batch_of(entry, tx.ref)
        if debit_batch is None:
            raise UnknownBatch(
                self.path,
                f"debit {tx.ref} is not in {entry['name']} (message {claim}) that this "
                "file answers",
                line=tx.line,
            )
        if tx.batch_id is not None and tx.batch_id != debit_batch:
            raise UnknownBatch(
                self.path,
                f"debit {tx.ref} is in batch {debit_batch}, the file says {tx.batch_id}",
                line=tx.line,
            )
        if ours is None:  # a debit we wrote with an end-to-end id that is not ours
            raise UnknownBatch(self.path, f"{tx.ref} is not an end-to-end id of ours", line=tx.line)
        return ours

    def _header(self, header: FileHeader) -> None:
        if header.original_msg_id is None:
            return
        entry = self.sent_index.sent(header.original_msg_id)
        if entry is None:
            raise UnknownBatch(
                self.path,
                f"answers message {header.original_msg_id}, which this channel never sent",
                line=header.line,
            )
        _check_figures(self.path, entry, None, header.count, header.control_sum, header.line)
        if header.original_msg_id not in self.answers:
            self.answers.append(header.original_msg_id)

    def _statement(self, st: Statement) -> list[_Expansion]:
        if st.original_msg_id is None:
            return []
        if st.outcome not in ("failed", "succeeded"):
            self._batch_figures(st)
            return []
        if st.outcome == "failed" and lookup(st.reason, st.info).reason is Reason.DUPLICATE:
            # the bank refused a second copy of a file it has: the first one stands
            log.warning(
                "%s: the bank refused a duplicate of %s (%s); the original stands",
                self.path.name,
                st.original_msg_id,
                st.reason,
            )
            return []
        entry = self.sent_index.sent(st.original_msg_id)
        if entry is None:
            return []
        if st.batch_id is not None and st.batch_id not in {b[0] for b in entry["batches"]}:
            raise UnknownBatch(
                self.path, f"names batch {st.batch_id}, not in {entry['name']}", line=st.line
            )
        if st.batch_id is not None:
            _check_figures(self.path, entry, st.batch_id, st.count, st.control_sum, st.line)
        outcome: Literal["failed", "succeeded"] = (
            "failed" if st.outcome == "failed" else "succeeded"
        )
        tx = TxResult(ref="", code=st.code, outcome=outcome, reason=st.reason, info=st.info)
        return [_Expansion(entry, st.batch_id, tx)]

    def _batch_figures(self, st: Statement) -> None:
        """A batch status that settles nothing may still state the batch's figures."""
        entry = self.sent_index.sent(st.original_msg_id or "")
        if entry is None or st.batch_id is None:
            return
        if st.batch_id not in {b[0] for b in entry["batches"]}:
            raise UnknownBatch(
                self.path, f"names batch {st.batch_id}, not in {entry['name']}", line=st.line
            )
        _check_figures(self.path, entry, st.batch_id, st.count, st.control_sum, st.line)

    def _booking(self, bk: BatchBooking) -> list[_Expansion]:
        for msg_id in [bk.original_msg_id] if bk.original_msg_id else []:
            entry = self.sent_index.sent(msg_id)
            batch = next((b for b in (entry or {}).get("batches", []) if b[0] == bk.batch_id), None)
            if (
                entry is not None
                and batch is not None
                and (bk.count, bk.sum_minor) == (batch[2], batch[3])
            ):
                tx = TxResult(ref="", code="BOOK", outcome=bk.outcome)
                return [_Expansion(entry, bk.batch_id, tx)]
        log.warning(
            "%s line %d: batch booking of %s for %s cannot be attributed to single debits; "
            "they stay pending",
            self.path.name,
            bk.line,
            bk.sum_minor,
            bk.batch_id,
        )
        return []

    def unknown_payments(self, count: int, sample: list[ResultRow]) -> None:
        """A row proven to be a debit of a file we sent must name a payment of this journal:
        if more rows name unknown payments than rows matched by end-to-end id alone, the
        journal and the exchange folder disagree and nothing of the file is applied. The
        refusal points at the first such row: its line and end-to-end id."""
        if count <= self.unclaimed:
            return
        files = ", ".join(dict.fromkeys([*self.answers, *self.claimed])) or "a file we sent"
        line, where = 0, ""
        if sample:
            first = sample[0]
            ref = first.payment_id
            if first.attempt is not None:
                ref = end_to_end_id(first.payment_id, first.attempt)
            line, where = first.line or 0, f"end-to-end id {ref}"
        raise UnknownBatch(
            self.path,
            f"{count} rows are debits of {files} for payments this journal does not hold; "
            "is it the journal this exchange folder belongs to (a restore from an older "
            "backup, another county's folder)?",
            line=line,
            where=where,
        )

    def applied(self, summary: ReportSummary) -> None:
        self.ledger.record_result(
            self.sha256,
            {"name": self.path.name, "answers": self.answers, "summary": summary.as_dict()},
        )
        at = self.ledger.ctx.clock.now()
        record_settlement(
            self.ledger.ctx,
            self.stated.settlement(
                self.sha256,
                self.path.name,
                at,
                summary,
                list(dict.fromkeys([*self.answers, *self.claimed])),
            ),
        )
        if self.move:
            self.exchange.move(self.path, self.exchange.processed)

    def rejected(self, error: PaychannelsError) -> None:
        # only files of the inbox are moved: a file given by hand is not ours to move
        if self.move:
            self.exchange.move(self.path, self.exchange.quarantine, reason=str(error))
            log.warning("quarantined %s: %s", self.path.name, error)
        else:
            log.warning("refused %s (left where it is): %s", self.path.name, error)
