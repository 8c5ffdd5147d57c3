"""Streaming reader of ISO 20022 camt.054 debit/credit notifications (bookings and returns).

From the creditor's side of a direct debit: a booked credit (``CRDT``, status ``BOOK``) is
money collected; a booked debit naming one of our debits (``DBIT``, or a reversal) is money
given back — a return, with its reason from ``RtrInf``. ``PDNG`` is pending, ``INFO`` only
information. Both forms of the entry status are read (a plain code up to .04, ``Sts/Cd`` or
``Sts/Prtry`` from .05). An entry may hold many transactions (batched entries, each with its
own end-to-end id) or only a batch total (``Btch`` without ``TxDtls``): the latter comes out
as one ``BatchBooking``. Transactions are handled at their own end, so an entry with 300,000
of them still takes constant memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from paychannels.bankfiles.errors import BankFileError
from paychannels.bankfiles.results import BatchBooking, FileHeader, Outcome, TxResult
from paychannels.bankfiles.xmlread import (
    Element,
    amount_minor,
    child_text,
    count_text,
    events,
    local,
    release,
)
from paychannels.values.currencies import currency
from paychannels.values.errors import UnknownCurrency

__all__ = ["read_camt054"]

_PREFIX = "urn:iso:std:iso:20022:tech:xsd:camt.054.001."


def _amount(path: Path, node: Element | None) -> tuple[int, str] | None:
    if node is None or not (node.text or "").strip():
        return None
    ccy = node.get("Ccy") or ""
    try:
        digits = currency(ccy).exponent
    except UnknownCurrency:
        raise BankFileError(
            path, f"unknown currency {ccy!r}", line=node.sourceline or 0, where=local(node.tag)
        ) from None
    return amount_minor(path, node, node.text.strip(), digits, local(node.tag)), ccy


def _find(elem: Element, *names: str) -> Element | None:
    node = elem
    for name in names:
        node = next((c for c in node if isinstance(c.tag, str) and local(c.tag) == name), None)
        if node is None:
            return None
    return node


class _Entry:
    """What an entry (``Ntry``) says before its details: direction, status, amount."""

    def __init__(self, path: Path, ntry: Element) -> None:
        self.line = ntry.sourceline or 0
        status = child_text(ntry, "Sts")
        if not status:
            status = child_text(ntry, "Sts", "Cd") or child_text(ntry, "Sts", "Prtry") or ""
        self.status = status
        self.credit = child_text(ntry, "CdtDbtInd") == "CRDT"
        self.reversal = (child_text(ntry, "RvslInd") or "").lower() in ("true", "1")
        self.amount = _amount(path, _find(ntry, "Amt"))
        self.transactions = 0

    def outcome(self, returned_info: bool) -> Outcome:
        if self.status in ("PDNG", "INFO", "FUTR"):
            return "pending"
        if self.status != "BOOK":
            return "unknown"
        if self.credit and not self.reversal and not returned_info:
            return "succeeded"
        if not self.credit or returned_info:
            return "returned"
        return "unknown"  # a reversed credit: a person must look


def _tx(path: Path, elem: Element, entry: _Entry) -> TxResult:
    line = elem.sourceline or 0
    ref = child_text(elem, "Refs", "EndToEndId")
    if not ref or ref == "NOTPROVIDED":
        ref = child_text(elem, "Refs", "InstrId") or ""
    rtr = _find(elem, "RtrInf")
    reason = info = None
    if rtr is not None:
        reason = child_text(rtr, "Rsn", "Cd") or child_text(rtr, "Rsn", "Prtry")
        info = child_text(rtr, "AddtlInf")
    booked = _amount(path, _find(elem, "Amt")) or _amount(
        path, _find(elem, "AmtDtls", "TxAmt", "Amt")
    )
    asked = _amount(path, _find(elem, "AmtDtls", "InstdAmt", "Amt"))
    outcome = entry.outcome(rtr is not None)
    if booked is None and outcome == "succeeded":
        booked = entry.amount if entry.transactions == 1 else None
        if booked is None:
            raise BankFileError(path, f"no amount for {ref}", line=line, where="TxDtls")
    ccy = (booked or asked or entry.amount or (None, None))[1]
    # which request file and batch the debit is said to belong to: its own references, else
    # the batch details of its entry (checked against what we sent, never taken on trust)
    btch = _find(elem.getparent(), "Btch")
    batch_of = child_text(elem, "Refs", "PmtInfId") or (
        child_text(btch, "PmtInfId") if btch is not None else None
    )
    msg_of = child_text(elem, "Refs", "MsgId") or (
        child_text(btch, "MsgId") if btch is not None else None
    )
    return TxResult(
        ref=ref,
        code=entry.status + ("/RTRN" if rtr is not None else ""),
        outcome=outcome,
        reason=reason,
        info=info,
        requested_minor=asked[0] if asked else None,
        taken_minor=booked[0] if booked and outcome == "succeeded" else None,
        currency=ccy,
        batch_id=batch_of,
        original_msg_id=msg_of,
        line=line,
    )


def read_camt054(path: Path) -> Iterator[FileHeader | TxResult | BatchBooking]:
    """Read a camt.054 file; see the module docstring. Raises ``BankFileError``."""
    # keyed by id(); the values hold the element too, so its proxy (and id) stays alive
    entries: dict[int, tuple[Element, _Entry]] = {}
    details_with_tx: dict[int, Element] = {}
    header_done = False
    tags = tuple(f"{{*}}{t}" for t in ("GrpHdr", "TxDtls", "NtryDtls", "Ntry"))
    for _event, elem in events(path, tags, ("end",)):
        ns, _, name = str(elem.tag).lstrip("{").partition("}")
        if not ns.startswith(_PREFIX):
            raise BankFileError(
                path,
                f"not a camt.054 notification ({ns or 'no namespace'})",
                line=elem.sourceline or 0,
            )
        if name == "GrpHdr":
            yield FileHeader("camt.054", child_text(elem, "MsgId"), None, line=elem.sourceline or 0)
            header_done = True
        elif name == "TxDtls":
            details = _placed(path, elem, "NtryDtls")
            entry = _entry(path, entries, _placed(path, details, "Ntry"))
            entry.transactions += 1
            details_with_tx[id(details)] = details
            yield _tx(path, elem, entry)
            release(elem, same_only=True)
            continue
        elif name == "NtryDtls":
            if id(elem) not in details_with_tx:
                booking = _booking(path, elem, _entry(path, entries, _placed(path, elem, "Ntry")))
                if booking is not None:
                    yield booking
            details_with_tx.pop(id(elem), None)
        elif name == "Ntry":
            entries.pop(id(elem), None)
        release(elem, same_only=name != "GrpHdr")
    if not header_done:
        raise BankFileError(path, "no GrpHdr: this is not a complete camt.054 notification")


def _placed(path: Path, elem: Element, parent: str) -> Element:
    """The parent an element must have (``TxDtls`` in ``NtryDtls`` in ``Ntry``), or an error
    naming the line: a detail outside its entry has no direction or status to read."""
    up = elem.getparent()
    if up is None or not isinstance(up.tag, str) or local(up.tag) != parent:
        raise BankFileError(
            path,
            f"{local(str(elem.tag))} outside a {parent}",
            line=elem.sourceline or 0,
            where=local(str(elem.tag)),
        )
    return up


def _entry(path: Path, entries: dict[int, tuple[Element, _Entry]], ntry: Element) -> _Entry:
    found = entries.get(id(ntry))
    if found is None:
        found = entries[id(ntry)] = (ntry, _Entry(path, ntry))
    return found[1]


def _booking(path: Path, details: Element, entry: _Entry) -> BatchBooking | None:
    btch = _find(details, "Btch")
    if btch is None:
        return None
    total: Any = _amount(path, _find(btch, "TtlAmt")) or entry.amount
    if total is None:
        raise BankFileError(path, "batch booking without an amount", line=btch.sourceline or 0)
    count = count_text(path, btch, child_text(btch, "NbOfTxs"), "NbOfTxs")
    return BatchBooking(
        original_msg_id=child_text(btch, "MsgId"),
        batch_id=child_text(btch, "PmtInfId"),
        count=count,
        sum_minor=total[0],
        currency=total[1],
        outcome=entry.outcome(False),
        line=btch.sourceline or 0,
    )
