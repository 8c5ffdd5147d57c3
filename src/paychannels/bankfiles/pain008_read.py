"""Streaming reader of pain.008 request files: what a bank (our simulator) reads.

Yields a ``FileHeader`` (message id and stated totals), then each debit as a ``RequestDebit``
with its batch and collection date. Totals are not checked here (``validate.check_totals``
does that); XSD validity neither (``validate.validate_xsd``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from paychannels.bankfiles.errors import BankFileError
from paychannels.bankfiles.results import FileHeader
from paychannels.bankfiles.xmlread import amount_minor, child_text, events, release
from paychannels.values.currencies import currency
from paychannels.values.errors import UnknownCurrency

__all__ = ["RequestDebit", "read_pain008"]


@dataclass(slots=True)
class RequestDebit:
    """One debit of a request file, as the bank sees it."""

    ref: str
    amount_minor: int
    currency: str
    name: str
    account: str
    mandate_id: str | None
    batch_id: str
    collection_date: date | None
    line: int


def read_pain008(path: Path) -> Iterator[FileHeader | RequestDebit]:
    """Read a pain.008 file; see the module docstring."""
    batch = ""
    when: date | None = None
    tags = tuple(f"{{*}}{t}" for t in ("GrpHdr", "PmtInfId", "ReqdColltnDt", "DrctDbtTxInf"))
    for _event, elem in events(path, tags, ("end",)):
        ns, _, name = str(elem.tag).lstrip("{").partition("}")
        line = elem.sourceline or 0
        if not ns.endswith(("pain.008.001.02", "pain.008.001.08")):
            raise BankFileError(path, f"not a pain.008.001.02/.08 file ({ns})", line=line)
        if name == "GrpHdr":
            count = child_text(elem, "NbOfTxs")
            yield FileHeader(
                ns.rpartition(":")[2],
                child_text(elem, "MsgId"),
                None,
                count=int(count) if count and count.isdigit() else None,
                line=line,
            )
        elif name == "PmtInfId":
            batch = (elem.text or "").strip()
        elif name == "ReqdColltnDt":
            try:
                when = date.fromisoformat((elem.text or "").strip())
            except ValueError:
                raise BankFileError(
                    path, f"ReqdColltnDt {elem.text!r} is not a date", line=line
                ) from None
        else:
            yield _debit(path, elem, batch, when, line)
            release(elem, same_only=True)
            continue
        release(elem, same_only=True)


def _debit(path: Path, elem: object, batch: str, when: date | None, line: int) -> RequestDebit:
    amt = next(elem.iter("{*}InstdAmt"), None)  # type: ignore[attr-defined]
    if amt is None:
        raise BankFileError(path, "a debit without InstdAmt", line=line)
    ccy = amt.get("Ccy") or ""
    try:
        digits = currency(ccy).exponent
    except UnknownCurrency:
        raise BankFileError(
            path, f"unknown currency {ccy!r}", line=amt.sourceline or line
        ) from None
    account = child_text(elem, "DbtrAcct", "Id", "IBAN") or child_text(
        elem, "DbtrAcct", "Id", "Othr", "Id"
    )
    return RequestDebit(
        ref=child_text(elem, "PmtId", "EndToEndId") or "",
        amount_minor=amount_minor(path, amt, (amt.text or "").strip(), digits, "InstdAmt"),
        currency=ccy,
        name=child_text(elem, "Dbtr", "Nm") or "",
        account=account or "",
        mandate_id=child_text(elem, "DrctDbtTx", "MndtRltdInf", "MndtId"),
        batch_id=batch,
        collection_date=when,
        line=line,
    )
