"""Streaming reader of ISO 20022 camt.053 bank-to-customer statements (.02 and .08).

The file is validated against the official XSD first (a streaming pass of lxml iterparse
with the schema, constant memory at any size): a statement that is not schema-valid is
refused whole, naming the line. Each ``Stmt`` yields a ``StatementHead`` (account, period,
opening and closing booked balances) before its entries, and each ``Ntry`` one
``StatementLine`` carrying every reference the bank gave: its own (``AcctSvcrRef``,
``NtryRef``), batch and message ids (``Btch``), the first transactions' end-to-end ids and
remittance text. An entry with 300,000 transaction details is read in constant memory:
details are released as they end.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

from lxml import etree

from paychannels.bankfiles.errors import BankFileError
from paychannels.bankfiles.statement import StatementHead, StatementLine
from paychannels.bankfiles.validate import validate_xsd
from paychannels.bankfiles.xmlread import (
    Element,
    amount_minor,
    child_text,
    local,
    namespace_of,
    release,
    safe_iterparse,
)
from paychannels.values.currencies import currency
from paychannels.values.errors import UnknownCurrency

__all__ = ["VERSIONS", "read_camt053"]

_NS = "urn:iso:std:iso:20022:tech:xsd:"
VERSIONS = ("camt.053.001.02", "camt.053.001.08")
_REFS_KEPT = 16  # references kept per entry (a batch of 300,000 is matched by its batch ids)


def read_camt053(path: Path) -> Iterator[StatementHead | StatementLine]:
    """Heads and bookings of a camt.053 file, in file order; ``BankFileError`` when the file
    is not a schema-valid camt.053 (the line of the first violation is named)."""
    found = namespace_of(path).removeprefix(_NS)
    if found not in VERSIONS:
        raise BankFileError(path, f"not a camt.053 statement ({found or 'no namespace'})", line=1)
    # a whole pass first: lxml reports a violation a chunk after the events before it, and
    # nothing of an invalid statement may be counted
    validate_xsd(path, found)
    reader = _Reader(path)
    try:
        tags = tuple(f"{{*}}{t}" for t in ("Stmt", "Ntry", "Btch", "TxDtls"))
        for event, elem in safe_iterparse(path, events=("start", "end"), tags=tags):
            yield from reader.step(event, elem)
    except etree.XMLSyntaxError as exc:  # changed between the passes
        raise BankFileError(path, f"not well-formed XML: {exc.msg}", line=exc.lineno or 0) from None


class _Reader:
    """The state of one pass: the statement being read and the entry's gathered refs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.head: StatementHead | None = None
        self.refs: list[str] = []
        self.texts: list[str] = []

    def step(self, event: str, elem: Element) -> Iterator[StatementHead | StatementLine]:
        name = local(str(elem.tag))
        if event == "start":
            if name == "Ntry" and self.head is None:
                self.head = self._head(elem.getparent())
                yield self.head
            return
        if name == "TxDtls":
            if len(self.refs) < _REFS_KEPT:
                self._gather(elem)
            release(elem, same_only=True)
        elif name == "Btch":
            for field in ("MsgId", "PmtInfId"):
                self._ref(child_text(elem, field))
        elif name == "Ntry":
            yield self._line(elem)
            self.refs, self.texts = [], []
            release(elem, same_only=True)
        elif name == "Stmt":
            if self.head is None:  # a statement without entries
                yield self._head(elem)
            self.head = None
            release(elem, same_only=True)

    def _ref(self, text: str | None) -> None:
        if text and text != "NOTPROVIDED" and text not in self.refs:
            self.refs.append(text)

    def _gather(self, tx: Element) -> None:
        kids = _kids(tx)
        refs = _kids(kids.get("Refs"))
        for field in ("EndToEndId", "PmtInfId", "MsgId", "InstrId", "AcctSvcrRef", "TxId"):
            self._ref(_text(refs.get(field)))
        rmt = kids.get("RmtInf")
        if rmt is not None:
            for node in rmt:
                if isinstance(node.tag, str) and local(node.tag) == "Ustrd" and node.text:
                    self.texts.append(node.text.strip())
                    self._ref(node.text.strip())

    def _head(self, stmt: Element) -> StatementHead:
        acct = _find(stmt, "Acct")
        account = (
            (child_text(acct, "Id", "IBAN") or child_text(acct, "Id", "Othr", "Id") or "")
            if acct is not None
            else ""
        )
        ccy = (child_text(acct, "Ccy") if acct is not None else None) or ""
        balances: dict[str, int] = {}
        for node in stmt:
            if isinstance(node.tag, str) and local(node.tag) == "Bal":
                code = child_text(node, "Tp", "CdOrPrtry", "Cd") or ""
                minor, bal_ccy = self._amount(_find(node, "Amt"))
                ccy = ccy or bal_ccy
                debit = child_text(node, "CdtDbtInd") == "DBIT"
                balances.setdefault(code, -minor if debit else minor)
        period = _find(stmt, "FrToDt")
        return StatementHead(
            file=self.path.name,
            statement_id=child_text(stmt, "Id") or "",
            account=account,
            currency=ccy,
            from_day=_day(child_text(period, "FrDtTm")) if period is not None else None,
            to_day=_day(child_text(period, "ToDtTm")) if period is not None else None,
            opening_minor=balances.get("OPBD", balances.get("PRCD")),
            closing_minor=balances.get("CLBD"),
            sequence=child_text(stmt, "ElctrncSeqNb") or child_text(stmt, "LglSeqNb") or "",
            line=stmt.sourceline or 0,
        )

    def _amount(self, node: Element | None) -> tuple[int, str]:
        if node is None:
            raise BankFileError(self.path, "an amount is missing")
        ccy = node.get("Ccy") or ""
        try:
            digits = currency(ccy).exponent
        except UnknownCurrency:
            raise BankFileError(
                self.path, f"unknown currency {ccy!r}", line=node.sourceline or 0, where="Amt"
            ) from None
        return amount_minor(self.path, node, node.text, digits, "Amt"), ccy

    def _line(self, ntry: Element) -> StatementLine:
        kids = _kids(ntry)
        minor, ccy = self._amount(kids.get("Amt"))
        sts = kids.get("Sts")
        status = _text(sts) or _text(_kids(sts).get("Cd")) or _text(_kids(sts).get("Prtry"))
        booked = _date_of(kids.get("BookgDt")) or _date_of(kids.get("ValDt"))
        if booked is None:
            raise BankFileError(
                self.path, "an entry without a booking date", line=ntry.sourceline or 0
            )
        bank_ref = _text(kids.get("AcctSvcrRef"))
        for ref in (bank_ref, _text(kids.get("NtryRef"))):
            self._ref(ref)
        extra = _text(kids.get("AddtlNtryInf"))
        if _text(kids.get("RvslInd")).lower() in ("true", "1"):
            status += "/RVSL"  # undoes an earlier booking: never a settlement's arrival
        return StatementLine(
            file=self.path.name,
            line=ntry.sourceline or 0,
            statement_id=self.head.statement_id if self.head else "",
            credit=_text(kids.get("CdtDbtInd")) == "CRDT",
            minor=minor,
            currency=ccy,
            booked=booked,
            value=_date_of(kids.get("ValDt")),
            refs=tuple(self.refs),
            text="; ".join([*self.texts[:3], *([extra] if extra else [])])[:200],
            bank_ref=bank_ref,
            status=status,
        )


def _kids(elem: Element | None) -> dict[str, Element]:
    """An element's children by local name (the first of each), in one pass."""
    out: dict[str, Element] = {}
    if elem is not None:
        for child in elem:
            tag = child.tag
            if isinstance(tag, str):
                out.setdefault(tag[tag.find("}") + 1 :], child)
    return out


def _text(elem: Element | None) -> str:
    return "" if elem is None or elem.text is None else elem.text.strip()


def _find(elem: Element | None, *names: str) -> Element | None:
    node = elem
    for name in names:
        if node is None:
            return None
        node = next((c for c in node if isinstance(c.tag, str) and local(c.tag) == name), None)
    return node


def _date_of(choice: Element | None) -> date | None:
    """``Dt`` or ``DtTm`` of a date-and-time choice (already schema-checked)."""
    if choice is None:
        return None
    kids = _kids(choice)
    return _day(_text(kids.get("Dt")) or _text(kids.get("DtTm")))


def _day(text: str | None) -> date | None:
    """The day of an ISO date or date-time (schema-checked; a file changed since is refused)."""
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise BankFileError("<stream>", f"{text[:20]!r} is not a date") from None
