"""Checking a request file as a bank would: XSD validity (streaming) and control sums.

``validate_xsd`` runs lxml's schema validation inside ``iterparse`` and clears elements as it
goes, so a 300,000-debit file is checked in seconds and tens of megabytes (a whole-tree
validation needs about 1 GB). The XSD does not check that ``NbOfTxs`` and ``CtrlSum`` add up,
so ``check_totals`` recounts them from the debits, batch by batch, in integer minor units.
The official schemas ship in ``bankfiles/xsd/``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import as_file, files
from pathlib import Path

from lxml import etree

from paychannels.bankfiles.errors import BankFileError
from paychannels.bankfiles.xmlread import (
    amount_minor,
    child_text,
    events,
    namespace_of,
    plain_minor,
    release,
    safe_iterparse,
)
from paychannels.values.currencies import currency
from paychannels.values.errors import ConfigurationError, UnknownCurrency

__all__ = ["SCHEMAS", "Totals", "check_totals", "schema", "validate_xsd"]

SCHEMAS = (
    "pain.008.001.02",
    "pain.008.001.08",
    "pain.002.001.03",
    "pain.002.001.10",
    "camt.054.001.08",
    "camt.053.001.02",
    "camt.053.001.08",
)
_NS = "urn:iso:std:iso:20022:tech:xsd:"


@cache
def schema(message: str) -> etree.XMLSchema:
    """The official XSD of a message (``pain.008.001.08``), parsed once."""
    if message not in SCHEMAS:
        raise ConfigurationError(f"no schema for {message!r}; shipped: {', '.join(SCHEMAS)}")
    resource = files("paychannels.bankfiles").joinpath(f"xsd/{message}.xsd")
    with as_file(resource) as path:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        return etree.XMLSchema(etree.parse(str(path), parser))


def validate_xsd(
    path: Path, message: str | None = None, *, progress: Callable[[int], None] | None = None
) -> str:
    """Validate a file against its message's XSD while streaming; returns the message name.

    Without ``message`` it is taken from the root namespace. Raises ``BankFileError`` with
    the line of the first violation.
    """
    found = namespace_of(path).removeprefix(_NS)
    if message is not None and found != message:
        raise BankFileError(path, f"is {found or 'not ISO 20022'}, expected {message}", line=1)
    xsd = schema(found) if found in SCHEMAS else None
    if xsd is None:
        raise BankFileError(path, f"no shipped schema for {found or 'this file'}", line=1)
    try:
        # only records come up to Python (freed as they end): the schema sees every element
        parser = safe_iterparse(path, schema=xsd, tags=_RECORDS)
        for n, (_event, elem) in enumerate(parser, start=1):
            if progress is not None and n % 5_000 == 0:
                progress(n * 20)  # about 20 elements a record
            release(elem)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or _line_of(path, xsd, exc.msg or "")
        raise BankFileError(path, f"invalid against {found}.xsd: {exc.msg}", line=line) from None
    return found


#: the repeated records of the messages we read: what is freed as the validation goes
_RECORDS = tuple(
    f"{{*}}{t}"
    for t in ("Ntry", "TxDtls", "DrctDbtTxInf", "TxInfAndSts", "OrgnlPmtInfAndSts", "PmtInf")
)


def _line_of(path: Path, xsd: etree.XMLSchema, message: str) -> int:
    """The line of the element a violation names: libxml2's streaming validation gives
    none, and parsing stops at the error, so it is the last element of that name to start.
    A second, slower pass (only for an invalid file) watches every start."""
    named = _NAMED.match(message)
    if named is None:
        return 0
    started = 0
    try:
        for event, elem in safe_iterparse(path, events=("start", "end"), schema=xsd):
            if event == "start":
                if elem.tag == named.group(1):
                    started = elem.sourceline or 0
            elif elem.getparent() is not None:
                release(elem)
    except etree.XMLSyntaxError:
        pass
    return started


_NAMED = re.compile(r"Element '([^']+)'")


@dataclass
class Totals:
    """What a pain.008 file's headers state and what its debits add up to."""

    msg_id: str = ""
    count: int = 0
    sum_minor: int = 0
    stated_count: int | None = None
    stated_sum: int | None = None
    batches: list[tuple[str, int, int]] = field(default_factory=list)
    currency: str = ""


def check_totals(path: Path) -> Totals:
    """Recount a pain.008 file's debits per batch and in all; ``BankFileError`` (naming the
    batch and line) when a stated ``NbOfTxs`` or ``CtrlSum`` disagrees."""
    totals = Totals()
    digits = 2
    b_count = b_sum = 0
    tags = tuple(f"{{*}}{t}" for t in ("GrpHdr", "InstdAmt", "DrctDbtTxInf", "PmtInf"))
    for _event, elem in events(path, tags, ("end",)):
        name = elem.tag.rpartition("}")[2]
        if name == "GrpHdr":
            totals.msg_id = child_text(elem, "MsgId") or ""
            totals.stated_count = _int(path, elem, child_text(elem, "NbOfTxs"), "NbOfTxs")
            stated = child_text(elem, "CtrlSum")
            totals.stated_sum = (
                None if stated is None else amount_minor(path, elem, stated, 2, "CtrlSum")
            )
            release(elem)
        elif name == "DrctDbtTxInf":
            release(elem, same_only=True)
        elif name == "InstdAmt":
            ccy = elem.get("Ccy") or ""
            if ccy != totals.currency:
                try:
                    digits = currency(ccy).exponent
                except UnknownCurrency:
                    raise BankFileError(
                        path, f"unknown currency {ccy!r}", line=elem.sourceline or 0
                    ) from None
                totals.currency = ccy
            b_count += 1
            text = elem.text or ""
            minor = plain_minor(text, digits)  # what we write: one regex, no Decimal
            if minor is None:
                minor = amount_minor(path, elem, text.strip(), digits, "InstdAmt")
            b_sum += minor
        else:
            bid = child_text(elem, "PmtInfId") or "?"
            _same(path, elem, f"batch {bid} NbOfTxs", child_text(elem, "NbOfTxs"), b_count, 0)
            _same(path, elem, f"batch {bid} CtrlSum", child_text(elem, "CtrlSum"), b_sum, digits)
            totals.batches.append((bid, b_count, b_sum))
            totals.count += b_count
            totals.sum_minor += b_sum
            b_count = b_sum = 0
            release(elem)
    if totals.stated_count is not None and totals.stated_count != totals.count:
        raise BankFileError(
            path,
            f"GrpHdr NbOfTxs says {totals.stated_count}, the file has {totals.count}",
            where="GrpHdr",
        )
    if totals.stated_sum is not None and digits != 2:
        totals.stated_sum = (
            totals.stated_sum * 10 ** (digits - 2) if digits > 2 else totals.stated_sum
        )
    if totals.stated_sum is not None and totals.stated_sum != totals.sum_minor:
        raise BankFileError(
            path,
            f"GrpHdr CtrlSum says {totals.stated_sum}, "
            f"the debits add up to {totals.sum_minor} (minor units)",
            where="GrpHdr",
        )
    return totals


def _int(path: Path, elem: object, text: str | None, what: str) -> int | None:
    if text is None:
        return None
    if not text.isdigit():
        raise BankFileError(
            path, f"{what} {text!r} is not a number", line=getattr(elem, "sourceline", 0) or 0
        )
    return int(text)


def _same(path: Path, elem: object, what: str, text: str | None, actual: int, digits: int) -> None:
    if text is None:
        return
    line = getattr(elem, "sourceline", 0) or 0
    stated = (
        _int(path, elem, text, what)
        if digits == 0
        else amount_minor(path, elem, text, digits, what)
    )
    if stated != actual:
        raise BankFileError(
            path, f"{what} says {stated}, the debits add up to {actual}", line=line, where=what
        )
