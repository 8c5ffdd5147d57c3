"""Streaming writer of ISO 20022 pain.008 (direct-debit initiation), versions .02 and .08.

Constant memory at any size: the header and each batch header carry totals that
``split.plan_files`` computed beforehand, and each debit is checked against the schema's
rules (lengths, patterns, character set, amounts) and written as one line. The batch and
file totals are summed again from the debits actually written and must match the headers,
or the file is refused. Chinese accounts (no IBAN) go in ``Othr/Id``; domestic bank codes
in ``FinInstnId/Othr/Id``. The ``sepa`` profile adds the EPC rulebook's rules on top.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from itertools import islice
from operator import attrgetter
from pathlib import Path
from typing import Any, BinaryIO

from paychannels.bankfiles import checks as ck
from paychannels.bankfiles.checks import ValueProblem
from paychannels.bankfiles.errors import BankFileError
from paychannels.bankfiles.ids import batch_id
from paychannels.bankfiles.model import BatchSpan, Creditor, Debit, FileTotals
from paychannels.bankfiles.pain008_lines import DebitLines
from paychannels.bankfiles.pain008_parts import Fragments
from paychannels.values.currencies import currency as currency_of

__all__ = ["FORMATS", "Pain008Writer"]

FORMATS = {"pain.008.001.02": "02", "pain.008.001.08": "08"}
_SEQUENCES = {
    "02": frozenset({"FRST", "RCUR", "FNAL", "OOFF"}),
    "08": frozenset({"FRST", "RCUR", "FNAL", "OOFF", "RPRE"}),
}
_NS = "urn:iso:std:iso:20022:tech:xsd:"
_CHUNK = 2048  # debits rendered and written at a time (about 1 MB of XML)
_AMOUNT = attrgetter("amount_minor")


_TEXTS = (
    "end_to_end_id",
    "currency",
    "name",
    "account",
    "bank",
    "mandate_id",
    "sequence",
    "remittance",
    "retry_of",
)
_TEXT_VALUES = attrgetter(*_TEXTS)
_OPTIONAL_TEXT = frozenset({str, type(None)})


def _characters(d: Debit) -> Debit:
    """``d`` with each text exactly a ``str``: a subclass's characters, which the checks
    read, and not its ``__str__``, which an f-string would write."""
    if set(map(type, _TEXT_VALUES(d))) <= _OPTIONAL_TEXT:
        return d
    odd: dict[str, Any] = {}
    for field in _TEXTS:
        value = getattr(d, field)
        if type(value) is not str and isinstance(value, str):
            odd[field] = str.__str__(value)
    return dataclasses.replace(d, **odd)


def _never(_value: str) -> None:
    return None


class Pain008Writer:
    """Writes one pain.008 file to a binary stream; see the module docstring."""

    def __init__(
        self,
        out: BinaryIO,
        *,
        name: str,
        format: str,
        creditor: Creditor,
        profile: str = "iso",
    ) -> None:
        if format not in FORMATS:
            raise ValueError(f"unknown format {format!r}; expected one of {sorted(FORMATS)}")
        if profile not in ("iso", "sepa"):
            raise ValueError("profile must be 'iso' or 'sepa'")
        self._out = out
        self.name = name
        self.format = format
        self.version = FORMATS[format]
        self.creditor = creditor
        self.sepa = profile == "sepa"
        self.sha256 = hashlib.sha256()
        self.parts = Fragments(version=self.version, sepa=self.sepa)
        self._digits = currency_of(creditor.currency).exponent
        self.lines = DebitLines(self.parts, currency=creditor.currency, digits=self._digits)
        # the one-regex fast path; the SEPA profile always takes the full check (its charset)
        self._short = ck.plain_text(35) if not self.sepa else _never
        self._long = ck.plain_text(140) if not self.sepa else _never
        self._where = "GrpHdr"

    # -- plumbing ---------------------------------------------------------------------

    def _emit(self, text: str) -> None:
        data = text.encode("utf-8")
        self.sha256.update(data)
        self._out.write(data)

    def _fail(self, problem: str, debit: int = 0) -> BankFileError:
        where = self._where + (f", debit {debit}" if debit else "")
        return BankFileError(self.name, f"cannot write: {problem}", where=where)

    def _text(self, value: str | None, field: str, max_len: int) -> str:
        return self.parts.text(value, field, max_len)

    # -- the document -------------------------------------------------------------------

    def write(
        self,
        *,
        msg_id: str,
        created_at: datetime,
        batches: Sequence[BatchSpan],
        debits: Iterable[Debit],
    ) -> FileTotals:
        """Write the whole file; returns the totals summed from the debits written."""
        try:
            return self._write(msg_id, created_at, batches, iter(debits))
        except ValueProblem as exc:
            raise self._fail(str(exc)) from None

    def _write(
        self,
        msg_id: str,
        created_at: datetime,
        batches: Sequence[BatchSpan],
        debits: Iterator[Debit],
    ) -> FileTotals:
        if not batches:
            raise ValueProblem("a file needs at least one batch")
        cur = self.creditor.currency
        if self.sepa and cur != "EUR":
            raise ValueProblem(f"the SEPA profile collects EUR, not {cur}")
        count = sum(b.count for b in batches)
        total = sum(b.sum_minor for b in batches)
        c = self.creditor
        initiator = ""
        if c.initiator_id:
            initiator = f"<Id><OrgId><Othr><Id>{self._text(c.initiator_id, 'initiator id', 35)}"
            initiator += "</Id></Othr></OrgId></Id>"
        self._emit(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<Document xmlns="{_NS}{self.format}" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n<CstmrDrctDbtInitn>\n'
            f"<GrpHdr><MsgId>{self._text(msg_id, 'MsgId', 35)}</MsgId>"
            f"<CreDtTm>{created_at.isoformat(timespec='seconds')}</CreDtTm>"
            f"<NbOfTxs>{count}</NbOfTxs><CtrlSum>{ck.check_amount(total, cur, field='CtrlSum')}"
            f"</CtrlSum><InitgPty><Nm>{self._text(c.name, 'creditor name', 70)}</Nm>{initiator}"
            "</InitgPty></GrpHdr>\n"
        )
        totals = FileTotals()
        for index, batch in enumerate(batches, start=1):
            bid = batch_id(msg_id, index)
            self._where = f"PmtInf {bid}"
            self._emit(self._batch_header(bid, batch))
            got = self._transactions(batch, debits, cur)
            if (got.count, got.sum_minor) != (batch.count, batch.sum_minor):
                raise ValueProblem(
                    f"batch {bid} planned {batch.count} debits / {batch.sum_minor} minor units, "
                    f"wrote {got.count} / {got.sum_minor}"
                )
            totals.count += got.count
            totals.sum_minor += got.sum_minor
            totals.batches.append((bid, got.count, got.sum_minor))
            self._emit("</PmtInf>\n")
        if next(debits, None) is not None:
            raise ValueProblem("more debits than the batches planned")
        self._emit("</CstmrDrctDbtInitn>\n</Document>\n")
        return totals

    def _batch_header(self, bid: str, batch: BatchSpan) -> str:
        c = self.creditor
        cur = c.currency
        seq = ck.check_code(batch.sequence, _SEQUENCES[self.version], field="SeqTp")
        svc = "<SvcLvl><Cd>SEPA</Cd></SvcLvl>" if self.sepa else ""
        lcl = "<LclInstrm><Cd>CORE</Cd></LclInstrm>" if self.sepa else ""
        scheme = ""
        if c.scheme_id:
            scheme = (
                f"<CdtrSchmeId><Id><PrvtId><Othr><Id>{self._text(c.scheme_id, 'scheme id', 35)}"
                "</Id><SchmeNm><Prtry>SEPA</Prtry></SchmeNm></Othr></PrvtId></Id></CdtrSchmeId>"
            )
        elif self.sepa:
            raise ValueProblem("the SEPA profile needs the creditor scheme id (CdtrSchmeId)")
        account = self.parts.account(c.account, "creditor account")
        return (
            f"<PmtInf><PmtInfId>{self._text(bid, 'PmtInfId', 35)}</PmtInfId><PmtMtd>DD</PmtMtd>"
            f"<BtchBookg>true</BtchBookg><NbOfTxs>{batch.count}</NbOfTxs>"
            f"<CtrlSum>{ck.check_amount(batch.sum_minor, cur, field='CtrlSum')}</CtrlSum>"
            f"<PmtTpInf>{svc}{lcl}<SeqTp>{seq}</SeqTp></PmtTpInf>"
            f"<ReqdColltnDt>{ck.check_date(batch.collection_date, field='ReqdColltnDt')}"
            f"</ReqdColltnDt><Cdtr><Nm>{self._text(c.name, 'creditor name', 70)}</Nm></Cdtr>"
            f"<CdtrAcct>{account}<Ccy>{cur}</Ccy></CdtrAcct>"
            f"<CdtrAgt>{self.parts.agent(c.bank)}</CdtrAgt>"
            f"{'<ChrgBr>SLEV</ChrgBr>' if self.sepa else ''}{scheme}\n"
        )

    def _transactions(self, batch: BatchSpan, debits: Iterator[Debit], cur: str) -> FileTotals:
        """The batch's debits, a chunk at a time: the chunked path when every value of the
        chunk is the common case, else debit by debit (which names the debit refused)."""
        got = FileTotals()
        count = total = 0
        while count < batch.count:
            chunk = list(islice(debits, min(_CHUNK, batch.count - count)))
            if not chunk:
                break
            rendered = self.lines.render(chunk, batch)
            if rendered is None:
                text = self._one_by_one(chunk, batch, cur, count)
                rendered = text, sum(map(_AMOUNT, chunk))
            self._emit(rendered[0])
            count += len(chunk)
            total += rendered[1]
        if count < batch.count:
            raise ValueProblem(f"the debits ran out after {count} of {batch.count}")
        got.count, got.sum_minor = count, total
        return got

    def _one_by_one(self, chunk: list[Debit], batch: BatchSpan, cur: str, before: int) -> str:
        line = self._transaction
        lines = []
        for n, debit in enumerate(chunk, start=before + 1):
            try:
                lines.append(line(debit, batch, cur))
            except ValueProblem as exc:
                raise self._fail(str(exc), n) from None
        return "".join(lines)

    def check_debit(self, debit: Debit, batch: BatchSpan, currency: str) -> None:
        """``ValueProblem`` if ``debit`` could not be written in ``batch``; writes nothing."""
        self._transaction(debit, batch, currency)

    def line(self, debit: Debit, batch: BatchSpan) -> str:
        """One debit's line, checked value by value (``ValueProblem`` naming the value);
        what ``lines.render`` writes for a chunk of them."""
        return self._transaction(debit, batch, self.creditor.currency)

    def _transaction(self, d: Debit, batch: BatchSpan, cur: str) -> str:
        """One debit as one line; each value checked (the common case in one regex call)."""
        d = _characters(d)
        if d.currency != cur:
            raise ValueProblem(f"debit in {d.currency}, the creditor collects {cur}")
        if d.collection_date != batch.collection_date or d.sequence != batch.sequence:
            raise ValueProblem("debit does not belong to this batch (date or sequence type)")
        short, long_ = self._short, self._long
        e2e, mandate, name = d.end_to_end_id, d.mandate_id, d.name
        if not (e2e and short(e2e)):
            e2e = self._text(e2e, "EndToEndId", 35)
        if not (mandate and short(mandate)):
            mandate = self._text(mandate, "MndtId", 35)
        if not (name and long_(name)):
            name = self._text(name, "debtor name", 70 if self.sepa else 140)
        amount = d.amount_minor
        if type(amount) is not int or not 0 < amount < 10**18:
            ck.check_minor(amount, self._digits, field="InstdAmt")
        signed = ""
        if type(d.mandate_date) is date:
            signed = self.parts.signed_on(d.mandate_date)
        elif d.mandate_date is not None:
            raise ValueProblem("DtOfSgntr must be a date")
        elif self.sepa:
            raise ValueProblem("the SEPA profile needs the mandate's date of signature")
        rmt = ""
        if d.remittance:  # the same few texts on every debit of a collection: checked once
            rmt = self.parts.remittance(d.remittance)
        instr = ""  # a resubmission names the debit it retries
        if d.retry_of:
            instr = f"<InstrId>{self._text(d.retry_of, 'InstrId', 35)}</InstrId>"
        agent = self.parts.agent(d.bank)
        digits = self._digits
        if digits == 2:
            shown = f"{amount // 100}.{amount % 100:02d}"
        else:
            shown = ck.format_minor(amount, digits)
        return (
            f"<DrctDbtTxInf><PmtId>{instr}<EndToEndId>{e2e}</EndToEndId></PmtId>"
            f'<InstdAmt Ccy="{cur}">{shown}</InstdAmt>'
            f"<DrctDbtTx><MndtRltdInf><MndtId>{mandate}</MndtId>{signed}</MndtRltdInf></DrctDbtTx>"
            f"<DbtrAgt>{agent}</DbtrAgt><Dbtr><Nm>{name}</Nm></Dbtr>"
            f"<DbtrAcct>{self.parts.account(d.account, 'debtor account')}</DbtrAcct>{rmt}"
            "</DrctDbtTxInf>\n"
        )


def write_file(
    path: Path,
    *,
    format: str,
    creditor: Creditor,
    msg_id: str,
    created_at: datetime,
    batches: Sequence[BatchSpan],
    debits: Iterable[Debit],
    profile: str = "iso",
) -> tuple[FileTotals, str]:
    """Write a pain.008 file at ``path``; returns the totals and the SHA-256 of its bytes."""
    with open(path, "wb", buffering=1 << 20) as out:
        writer = Pain008Writer(
            out, name=path.name, format=format, creditor=creditor, profile=profile
        )
        totals = writer.write(msg_id=msg_id, created_at=created_at, batches=batches, debits=debits)
    return totals, writer.sha256.hexdigest()
