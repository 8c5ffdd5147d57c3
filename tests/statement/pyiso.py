"""camt.053.001.08 statements written by other software (pyiso20022's xsdata bindings and
xsdata's serializer), so the reader is proven on files it did not make itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyiso20022.camt.camt_053_001_08 as c
from xsdata.formats.dataclass.serializers import XmlSerializer
from xsdata.formats.dataclass.serializers.config import SerializerConfig
from xsdata.models.datatype import XmlDate, XmlDateTime

NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"


@dataclass
class Booking:
    """One entry to write: credit or debit, minor units, day, references."""

    minor: int
    day: date
    credit: bool = True
    ccy: str = "CNY"
    bank_ref: str = ""
    end_to_end: tuple[str, ...] = ()
    batch: tuple[str, str] | None = None  # (MsgId, PmtInfId)
    text: str = ""
    refs: list[str] = field(default_factory=list)


def _amt(minor: int, ccy: str) -> c.ActiveOrHistoricCurrencyAndAmount:
    return c.ActiveOrHistoricCurrencyAndAmount(value=Decimal(minor).scaleb(-2), ccy=ccy)


def _bal(code: str, minor: int, day: date, ccy: str) -> c.CashBalance8:
    return c.CashBalance8(
        tp=c.BalanceType13(cd_or_prtry=c.BalanceType10Choice(cd=code)),
        amt=_amt(abs(minor), ccy),
        cdt_dbt_ind=c.CreditDebitCode.CRDT if minor >= 0 else c.CreditDebitCode.DBIT,
        dt=c.DateAndDateTime2Choice(dt=XmlDate.from_date(day)),
    )


def _entry(b: Booking) -> c.ReportEntry10:
    details = []
    if b.end_to_end or b.batch or b.text:
        txs = [
            c.EntryTransaction10(refs=c.TransactionReferences6(end_to_end_id=e))
            for e in b.end_to_end
        ]
        if b.text:
            txs.append(c.EntryTransaction10(rmt_inf=c.RemittanceInformation16(ustrd=[b.text])))
        btch = c.BatchInformation2(msg_id=b.batch[0], pmt_inf_id=b.batch[1]) if b.batch else None
        details = [c.EntryDetails9(btch=btch, tx_dtls=txs)]
    return c.ReportEntry10(
        amt=_amt(b.minor, b.ccy),
        cdt_dbt_ind=c.CreditDebitCode.CRDT if b.credit else c.CreditDebitCode.DBIT,
        sts=c.EntryStatus1Choice(cd="BOOK"),
        bookg_dt=c.DateAndDateTime2Choice(dt=XmlDate.from_date(b.day)),
        val_dt=c.DateAndDateTime2Choice(dt=XmlDate.from_date(b.day)),
        acct_svcr_ref=b.bank_ref or None,
        bk_tx_cd=c.BankTransactionCodeStructure4(),
        ntry_dtls=details,
    )


def write_camt053(
    path: Path,
    *,
    account: str,
    stmt_id: str,
    day: date,
    opening_minor: int,
    bookings: list[Booking],
    ccy: str = "CNY",
    closing_minor: int | None = None,
) -> Path:
    """A one-statement camt.053.001.08 file; the closing balance follows from the bookings
    unless given."""
    closing = opening_minor + sum(b.minor if b.credit else -b.minor for b in bookings)
    stmt = c.AccountStatement9(
        id=stmt_id,
        elctrnc_seq_nb=Decimal(1),
        cre_dt_tm=XmlDateTime(day.year, day.month, day.day, 23, 0, 0),
        fr_to_dt=c.DateTimePeriod1(
            fr_dt_tm=XmlDateTime(day.year, day.month, day.day, 0, 0, 0),
            to_dt_tm=XmlDateTime(day.year, day.month, day.day, 23, 59, 59),
        ),
        acct=c.CashAccount39(
            id=c.AccountIdentification4Choice(othr=c.GenericAccountIdentification1(id=account)),
            ccy=ccy,
        ),
        bal=[
            _bal("OPBD", opening_minor, day, ccy),
            _bal("CLBD", closing if closing_minor is None else closing_minor, day, ccy),
        ],
        ntry=[_entry(b) for b in bookings],
    )
    doc = c.Document(
        bk_to_cstmr_stmt=c.BankToCustomerStatementV08(
            grp_hdr=c.GroupHeader81(
                msg_id=f"MSG-{stmt_id}",
                cre_dt_tm=XmlDateTime(day.year, day.month, day.day, 23, 0, 0),
            ),
            stmt=[stmt],
        )
    )
    text = XmlSerializer(config=SerializerConfig(indent="  ")).render(doc, ns_map={None: NS})
    path.write_text(text, "utf-8")
    return path


def write_camt053_v02(
    path: Path,
    *,
    account: str,
    stmt_id: str,
    day: date,
    opening_minor: int,
    bookings: list[Booking],
) -> Path:
    """The same statement in camt.053.001.02 (what most banks still send), by pyiso20022."""
    import pyiso20022.camt.camt_053_001_02 as v

    ccy = "CNY"
    closing = opening_minor + sum(b.minor if b.credit else -b.minor for b in bookings)

    def amt(minor: int) -> v.ActiveOrHistoricCurrencyAndAmount:
        return v.ActiveOrHistoricCurrencyAndAmount(value=Decimal(minor).scaleb(-2), ccy=ccy)

    def bal(code: str, minor: int) -> v.CashBalance3:
        return v.CashBalance3(
            tp=v.BalanceType12(cd_or_prtry=v.BalanceType5Choice(cd=v.BalanceType12Code(code))),
            amt=amt(minor),
            cdt_dbt_ind=v.CreditDebitCode.CRDT,
            dt=v.DateAndDateTimeChoice(dt=XmlDate.from_date(day)),
        )

    def entry(b: Booking) -> v.ReportEntry2:
        txs = [
            v.EntryTransaction2(refs=v.TransactionReferences2(end_to_end_id=e))
            for e in b.end_to_end
        ]
        btch = v.BatchInformation2(msg_id=b.batch[0], pmt_inf_id=b.batch[1]) if b.batch else None
        return v.ReportEntry2(
            amt=amt(b.minor),
            cdt_dbt_ind=v.CreditDebitCode.CRDT if b.credit else v.CreditDebitCode.DBIT,
            sts=v.EntryStatus2Code.BOOK,
            bookg_dt=v.DateAndDateTimeChoice(dt=XmlDate.from_date(b.day)),
            val_dt=v.DateAndDateTimeChoice(dt=XmlDate.from_date(b.day)),
            acct_svcr_ref=b.bank_ref or None,
            bk_tx_cd=v.BankTransactionCodeStructure4(),
            ntry_dtls=[v.EntryDetails1(btch=btch, tx_dtls=txs)] if (txs or btch) else [],
        )

    at = XmlDateTime(day.year, day.month, day.day, 23, 0, 0)
    doc = v.Document(
        bk_to_cstmr_stmt=v.BankToCustomerStatementV02(
            grp_hdr=v.GroupHeader42(msg_id=f"MSG-{stmt_id}", cre_dt_tm=at),
            stmt=[
                v.AccountStatement2(
                    id=stmt_id,
                    cre_dt_tm=at,
                    acct=v.CashAccount20(
                        id=v.AccountIdentification4Choice(
                            othr=v.GenericAccountIdentification1(id=account)
                        ),
                        ccy=ccy,
                    ),
                    bal=[bal("OPBD", opening_minor), bal("CLBD", closing)],
                    ntry=[entry(b) for b in bookings],
                )
            ],
        )
    )
    ns = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
    text = XmlSerializer(config=SerializerConfig(indent="  ")).render(doc, ns_map={None: ns})
    path.write_text(text, "utf-8")
    return path
