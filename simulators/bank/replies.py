"""Result files as a bank writes them: pain.002 (.03/.10) and camt.054.001.08, streaming.

The simulator's side of the conversation; every file validates against the official XSDs
(the tests check). Amounts are integer minor units written with the currency's decimals.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO

from paychannels.bankfiles.checks import escape, format_amount

__all__ = ["Booking", "TxReply", "write_camt054", "write_pain002"]

_NS = "urn:iso:std:iso:20022:tech:xsd:"


@dataclass(frozen=True, slots=True)
class TxReply:
    """One transaction status: ``status`` ACSC/ACCP/RJCT..., with a reason when rejected."""

    ref: str
    status: str
    amount_minor: int
    currency: str
    reason: str | None = None
    info: str | None = None


def _reason(reason: str | None, info: str | None) -> str:
    if reason is None and info is None:
        return ""
    rsn = f"<Rsn><Cd>{escape(reason)}</Cd></Rsn>" if reason else ""
    add = f"<AddtlInf>{escape(info[:105])}</AddtlInf>" if info else ""
    return f"<StsRsnInf>{rsn}{add}</StsRsnInf>"


def write_pain002(
    out: IO[str],
    *,
    version: str,
    msg_id: str,
    created_at: datetime,
    original_msg_id: str,
    original_message: str,
    original_count: int | None,
    group_status: str | None,
    group_reason: str | None = None,
    group_info: str | None = None,
    batches: Iterable[tuple[str, Iterable[TxReply]]] = (),
) -> None:
    """A pain.002 status report for one request file (``version`` ``03`` or ``10``)."""
    out.write(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Document xmlns="{_NS}pain.002.001.{version}">\n<CstmrPmtStsRpt>\n'
        f"<GrpHdr><MsgId>{escape(msg_id)}</MsgId>"
        f"<CreDtTm>{created_at.isoformat(timespec='seconds')}</CreDtTm></GrpHdr>\n"
        f"<OrgnlGrpInfAndSts><OrgnlMsgId>{escape(original_msg_id)}</OrgnlMsgId>"
        f"<OrgnlMsgNmId>{original_message}</OrgnlMsgNmId>"
        + (f"<OrgnlNbOfTxs>{original_count}</OrgnlNbOfTxs>" if original_count is not None else "")
        + (f"<GrpSts>{group_status}</GrpSts>" if group_status else "")
        + _reason(group_reason, group_info)
        + "</OrgnlGrpInfAndSts>\n"
    )
    for batch_id, txs in batches:
        opened = False
        for i, tx in enumerate(txs, start=1):
            if not opened:
                out.write(f"<OrgnlPmtInfAndSts><OrgnlPmtInfId>{escape(batch_id)}</OrgnlPmtInfId>\n")
                opened = True
            out.write(
                f"<TxInfAndSts><StsId>{escape(batch_id[-20:])}-{i}</StsId>"
                f"<OrgnlEndToEndId>{escape(tx.ref)}</OrgnlEndToEndId><TxSts>{tx.status}</TxSts>"
                f'{_reason(tx.reason, tx.info)}<OrgnlTxRef><Amt><InstdAmt Ccy="{tx.currency}">'
                f"{format_amount(tx.amount_minor, tx.currency)}</InstdAmt></Amt></OrgnlTxRef>"
                "</TxInfAndSts>\n"
            )
        if opened:
            out.write("</OrgnlPmtInfAndSts>\n")
    out.write("</CstmrPmtStsRpt>\n</Document>\n")


@dataclass(frozen=True, slots=True)
class Booking:
    """One debit booked on the creditor's account: collected (credit) or returned (debit)."""

    ref: str
    msg_id: str
    batch_id: str
    amount_minor: int
    asked_minor: int
    currency: str
    returned: bool = False
    reason: str | None = None
    info: str | None = None


def write_camt054(
    out: IO[str],
    *,
    msg_id: str,
    created_at: datetime,
    account: str,
    booked_on: date,
    entries: Iterable[tuple[str, list[Booking]]],
    batch_only: bool = False,
) -> None:
    """A camt.054.001.08 notification: one batched entry per (batch, direction).

    ``batch_only`` books each batch as one total without transaction details (batch booking).
    """
    acct = (
        f"<IBAN>{escape(account)}</IBAN>"
        if account[:2].isalpha()
        else f"<Othr><Id>{escape(account)}</Id></Othr>"
    )
    out.write(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Document xmlns="{_NS}camt.054.001.08">\n<BkToCstmrDbtCdtNtfctn>\n'
        f"<GrpHdr><MsgId>{escape(msg_id)}</MsgId>"
        f"<CreDtTm>{created_at.isoformat(timespec='seconds')}</CreDtTm></GrpHdr>\n"
        f"<Ntfctn><Id>{escape(msg_id)}</Id><Acct><Id>{acct}</Id></Acct>\n"
    )
    for n, (batch_id, items) in enumerate(entries, start=1):
        if not items:
            continue
        first = items[0]
        total = sum(b.amount_minor for b in items)
        ccy = first.currency
        direction = "DBIT" if first.returned else "CRDT"
        family = "UPDD" if first.returned else "PMDD"
        out.write(
            f'<Ntry><NtryRef>{n}</NtryRef><Amt Ccy="{ccy}">{format_amount(total, ccy)}</Amt>'
            f"<CdtDbtInd>{direction}</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>"
            f"<BookgDt><Dt>{booked_on.isoformat()}</Dt></BookgDt>"
            f"<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>IDDT</Cd><SubFmlyCd>{family}</SubFmlyCd>"
            "</Fmly></Domn></BkTxCd>\n<NtryDtls>"
            f"<Btch><MsgId>{escape(first.msg_id)}</MsgId><PmtInfId>{escape(batch_id)}</PmtInfId>"
            f"<NbOfTxs>{len(items)}</NbOfTxs>"
            f'<TtlAmt Ccy="{ccy}">{format_amount(total, ccy)}</TtlAmt>'
            f"<CdtDbtInd>{direction}</CdtDbtInd></Btch>\n"
        )
        if not batch_only:
            for b in items:
                rtr = ""
                if b.returned:
                    add = f"<AddtlInf>{escape(b.info[:105])}</AddtlInf>" if b.info else ""
                    rtr = f"<RtrInf><Rsn><Cd>{escape(b.reason or 'MS03')}</Cd></Rsn>{add}</RtrInf>"
                out.write(
                    f"<TxDtls><Refs><MsgId>{escape(b.msg_id)}</MsgId><PmtInfId>{escape(batch_id)}</PmtInfId>"
                    f"<EndToEndId>{escape(b.ref)}</EndToEndId></Refs>"
                    f'<Amt Ccy="{ccy}">{format_amount(b.amount_minor, ccy)}</Amt>'
                    f"<CdtDbtInd>{direction}</CdtDbtInd>"
                    f'<AmtDtls><InstdAmt><Amt Ccy="{ccy}">{format_amount(b.asked_minor, ccy)}</Amt>'
                    f"</InstdAmt></AmtDtls>{rtr}</TxDtls>\n"
                )
        out.write("</NtryDtls></Ntry>\n")
    out.write("</Ntfctn>\n</BkToCstmrDbtCdtNtfctn>\n</Document>\n")
