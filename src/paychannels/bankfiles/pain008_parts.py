"""The checked fragments of a pain.008 debit that repeat across debits: agent, remittance,
date of signature, account and text values.

The writer's debit-by-debit path and its chunked path (``pain008_lines``) build them here, so
both write the same bytes; the ones a collection repeats (a bank, a remittance text, a signing
date) are checked and formatted once and kept (at most 4,096 of each).
"""

from __future__ import annotations

from datetime import date

from paychannels.bankfiles import checks as ck
from paychannels.bankfiles.checks import ValueProblem, escape

__all__ = ["Fragments"]

_KEEP = 4096


class Fragments:
    """The fragments of one writer (its message version and profile)."""

    def __init__(self, *, version: str, sepa: bool) -> None:
        self.version = version
        self.sepa = sepa
        self.agents: dict[str | None, str] = {}
        self.signed: dict[date, str] = {}
        self.remittances: dict[str, str] = {}

    def text(self, value: str | None, field: str, max_len: int) -> str:
        """``checks.check_text`` then ``escape``; one regex call in the common case."""
        if value and not self.sepa and ck.plain_text(max_len)(value):
            return value
        if value is None:
            raise ValueProblem(f"{field} is missing")
        return escape(ck.check_text(value, field=field, max_len=max_len, sepa=self.sepa))

    def agent(self, bank: str | None) -> str:
        """``<FinInstnId>`` of a BIC, a domestic bank code or none given."""
        cached = self.agents.get(bank)
        if cached is not None:
            return cached
        tag = "BIC" if self.version == "02" else "BICFI"
        if bank is None or not bank.strip():
            if self.sepa and self.version == "02":
                raise ValueProblem("the SEPA profile of pain.008.001.02 needs the debtor's BIC")
            inner = "<Othr><Id>NOTPROVIDED</Id></Othr>"
        elif bank[:4].isalpha() and len(bank) in (8, 11) and bank.isupper():
            inner = f"<{tag}>{ck.check_bic(bank, field='agent BIC', version=self.version)}</{tag}>"
        else:
            inner = f"<Othr><Id>{self.text(bank, 'agent bank code', 35)}</Id></Othr>"
        fragment = f"<FinInstnId>{inner}</FinInstnId>"
        if len(self.agents) < _KEEP:
            self.agents[bank] = fragment
        return fragment

    def remittance(self, text: str) -> str:
        """``<RmtInf>``, checked and built once per distinct text."""
        cached = self.remittances.get(text)
        if cached is not None:
            return cached
        tag = f"<RmtInf><Ustrd>{self.text(text, 'remittance', 140)}</Ustrd></RmtInf>"
        if len(self.remittances) < _KEEP:
            self.remittances[text] = tag
        return tag

    def signed_on(self, signed: date) -> str:
        """``<DtOfSgntr>``, formatted once per distinct date (mandates cluster on few days)."""
        cached = self.signed.get(signed)
        if cached is not None:
            return cached
        tag = f"<DtOfSgntr>{signed.isoformat()}</DtOfSgntr>"
        if len(self.signed) < _KEEP:
            self.signed[signed] = tag
        return tag

    def account(self, account: str, field: str) -> str:
        """``<Id>`` of an IBAN or, not IBAN-shaped, of a plain account number."""
        if ck.iban_valid(account):  # the common case first: one regex, one mod-97
            return f"<Id><IBAN>{account}</IBAN></Id>"
        if ck.iban_shaped(account):
            ck.check_iban(account, field=field)  # raises with the reason
        if self.sepa:
            raise ValueProblem(f"{field} {account!r}: the SEPA profile needs an IBAN")
        if not account.isalnum():
            raise ValueProblem(f"{field} must be letters and digits only (no spaces)")
        return f"<Id><Othr><Id>{self.text(account, field, 34)}</Id></Othr></Id>"
