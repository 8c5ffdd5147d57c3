"""Streaming reader of ISO 20022 pain.002 status reports, versions .001.03 and .001.10.

Yields, in file order: a ``FileHeader`` (which request it answers), a ``Statement`` for the
group status, then each ``TxResult`` and, after each batch's transactions, the batch's
``Statement``. Status codes beyond the closed .03 list are accepted (.10 uses an external
list): an unknown one is reported as outcome ``unknown``, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from paychannels.bankfiles.errors import BankFileError
from paychannels.bankfiles.results import FileHeader, Outcome, Statement, TxResult
from paychannels.bankfiles.xmlread import (
    Element,
    amount_minor,
    child_text,
    count_text,
    decimal_text,
    events,
    local,
    release,
)
from paychannels.values.currencies import currency
from paychannels.values.errors import UnknownCurrency

__all__ = ["NAMESPACES", "read_pain002", "tx_outcome"]

NAMESPACES = {
    "urn:iso:std:iso:20022:tech:xsd:pain.002.001.03": "pain.002.001.03",
    "urn:iso:std:iso:20022:tech:xsd:pain.002.001.10": "pain.002.001.10",
}
_SUCCEEDED = frozenset({"ACSC", "ACCC"})
_PENDING = frozenset(
    {"ACCP", "ACSP", "ACTC", "ACWC", "ACWP", "ACFC", "PDNG", "RCVD", "PATC", "PRES", "ACCR"}
)
_FAILED = frozenset({"RJCT", "CANC"})
_NOWHERE = Path("-")


def tx_outcome(code: str) -> Outcome:
    """What an ISO payment status code says about the money."""
    if code in _SUCCEEDED:
        return "succeeded"
    if code in _PENDING:
        return "pending"
    if code in _FAILED:
        return "failed"
    return "unknown"


def _reason(elem: Element) -> tuple[str | None, str | None]:
    code = child_text(elem, "StsRsnInf", "Rsn", "Cd") or child_text(
        elem, "StsRsnInf", "Rsn", "Prtry"
    )
    info = child_text(elem, "StsRsnInf", "AddtlInf")
    return code, info


def _figures(path: Path, elem: Element) -> tuple[int | None, Decimal | None]:
    """``OrgnlNbOfTxs`` and ``OrgnlCtrlSum`` of a group or batch, when the bank states them."""
    count = count_text(path, elem, child_text(elem, "OrgnlNbOfTxs"), "OrgnlNbOfTxs")
    text = child_text(elem, "OrgnlCtrlSum")
    total = None if text is None else decimal_text(path, elem, text, "OrgnlCtrlSum")
    return count, total


def _statement(
    path: Path, elem: Element, msg_id: str | None, batch: str | None, tag: str
) -> Statement:
    code = child_text(elem, tag) or ""
    reason, info = _reason(elem)
    outcome = "partial" if code == "PART" else tx_outcome(code)
    count, total = _figures(path, elem)
    return Statement(msg_id, batch, code, outcome, reason, info, elem.sourceline or 0, count, total)


@lru_cache(maxsize=4096)
def _plain_minor(ccy: str, text: str) -> int | None:
    """A well-formed amount in minor units, or None (the full check then names the error);
    a county's debits share a few amounts, so each text is checked once."""
    try:
        digits = currency(ccy).exponent
        value = decimal_text(_NOWHERE, None, text, "InstdAmt").scaleb(digits)
    except (UnknownCurrency, BankFileError):
        return None
    return int(value) if value == value.to_integral_value() else None


def _tx(path: Path, elem: Element, msg_id: str | None, batch: str | None, cut: int) -> TxResult:
    """One ``TxInfAndSts``, read in a single pass over its descendants (the hot path)."""
    line = elem.sourceline or 0
    ref = instr = code = reason = info = None
    amount = None
    for node in elem.iter():
        name = node.tag[cut:] if isinstance(node.tag, str) else ""
        if name == "OrgnlEndToEndId":
            ref = (node.text or "").strip()
        elif name == "OrgnlInstrId":
            instr = (node.text or "").strip()
        elif name == "TxSts":
            code = (node.text or "").strip()
        elif name in ("Cd", "Prtry") and reason is None and local(node.getparent().tag) == "Rsn":
            reason = (node.text or "").strip()
        elif name == "AddtlInf" and info is None and local(node.getparent().tag) == "StsRsnInf":
            info = (node.text or "").strip()
        elif name == "InstdAmt" and amount is None:
            amount = node
    ref = ref or instr
    if not ref:
        raise BankFileError(path, "a transaction status names no OrgnlEndToEndId", line=line)
    if not code:
        raise BankFileError(path, "a transaction status without TxSts", line=line, where=ref)
    requested = ccy = None
    if amount is not None:
        ccy = amount.get("Ccy")
        requested = _plain_minor(ccy or "", amount.text or "")
    if requested is None and amount is not None:
        try:
            digits = currency(ccy or "").exponent
        except UnknownCurrency:
            raise BankFileError(
                path, f"unknown currency {ccy!r}", line=amount.sourceline or 0
            ) from None
        requested = amount_minor(path, amount, (amount.text or "").strip(), digits, "InstdAmt")
    outcome = tx_outcome(code)
    return TxResult(
        ref=ref,
        code=code,
        outcome=outcome,
        reason=reason,
        info=info,
        requested_minor=requested,
        taken_minor=requested if outcome == "succeeded" else None,
        currency=ccy,
        batch_id=batch,
        original_msg_id=msg_id,
        line=line,
    )


def read_pain002(path: Path) -> Iterator[FileHeader | Statement | TxResult]:
    """Read a pain.002 file; see the module docstring. Raises ``BankFileError``."""
    tags = ("GrpHdr", "OrgnlGrpInfAndSts", "OrgnlPmtInfId", "TxInfAndSts", "OrgnlPmtInfAndSts")
    kind: str | None = None
    msg_id = original = batch = None
    seen_group = False
    for _event, elem in events(path, tuple(f"{{*}}{t}" for t in tags), ("end",)):
        ns, _, name = str(elem.tag).lstrip("{").partition("}")
        if kind is None:
            kind = NAMESPACES.get(ns)
            if kind is None:
                raise BankFileError(
                    path,
                    f"not a pain.002.001.03/.10 report ({ns or 'no namespace'})",
                    line=elem.sourceline or 0,
                )
        if name == "GrpHdr":
            msg_id = child_text(elem, "MsgId")
        elif name == "OrgnlGrpInfAndSts":
            original = child_text(elem, "OrgnlMsgId")
            if not original:
                raise BankFileError(
                    path, "OrgnlGrpInfAndSts names no OrgnlMsgId", line=elem.sourceline or 0
                )
            count, total = _figures(path, elem)
            line = elem.sourceline or 0
            yield FileHeader(kind, msg_id, original, count, line=line, control_sum=total)
            seen_group = True
            if child_text(elem, "GrpSts"):
                yield _statement(path, elem, original, None, "GrpSts")
        elif name == "OrgnlPmtInfId":
            batch = (elem.text or "").strip() or None
        elif name == "TxInfAndSts":
            if not seen_group:
                raise BankFileError(
                    path, "transaction status before OrgnlGrpInfAndSts", line=elem.sourceline or 0
                )
            yield _tx(path, elem, original, batch, len(ns) + 2)
            release(elem, same_only=True)
            continue
        elif name == "OrgnlPmtInfAndSts":
            if not seen_group:
                raise BankFileError(
                    path, "batch status before OrgnlGrpInfAndSts", line=elem.sourceline or 0
                )
            yield _statement(path, elem, original, batch, "PmtInfSts")  # status and/or figures
            batch = None
        release(elem)
    if not seen_group:
        raise BankFileError(path, "no OrgnlGrpInfAndSts: this is not a complete pain.002 report")
