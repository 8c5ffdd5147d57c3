"""What goes into a request file: the creditor, each debit, the batches and file totals."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import StringConstraints, ValidationError

from paychannels.values.configfile import FileModel, error_text, first_error

__all__ = [
    "BatchSpan",
    "Creditor",
    "CreditorDocument",
    "CreditorFile",
    "Debit",
    "FileTotals",
    "RequestFile",
]


@dataclass(frozen=True, slots=True)
class Creditor:
    """Who collects: the office's name, scheme id (SEPA ``CdtrSchmeId``) and account.

    ``account`` is an IBAN or, for Chinese accounts, a plain number written in ``Othr/Id``;
    ``bank`` is a BIC or a domestic bank code (CNAPS); ``msg_prefix`` starts every message
    id so files of two creditors never share one.
    """

    name: str
    account: str
    bank: str
    scheme_id: str | None = None
    initiator_id: str | None = None
    currency: str = "CNY"
    msg_prefix: str = "PC"
    country: str = "CN"

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> Creditor:
        """From a CREDITOR.toml table (keys as the fields); ``ValueError`` naming the key."""
        try:
            checked = CreditorFile.model_validate(data)
        except ValidationError as exc:
            error = first_error(exc)
            key = ".".join(str(p) for p in error["loc"])
            raise ValueError(error_text(error, key)) from None
        return checked.creditor()


_Text = Annotated[str, StringConstraints(min_length=1)]


class CreditorFile(FileModel):
    """CREDITOR.toml: who collects (its ``[creditor]`` table, or the same keys at the top)."""

    name: _Text
    account: _Text
    bank: _Text
    scheme_id: _Text | None = None
    initiator_id: _Text | None = None
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "CNY"
    msg_prefix: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{1,12}$")] = "PC"
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = "CN"

    def creditor(self) -> Creditor:
        """The checked settings as the ``Creditor`` the writers take."""
        return Creditor(**self.model_dump())


class CreditorDocument(FileModel):
    """A CREDITOR.toml file as documented: its ``[creditor]`` table (published schema)."""

    creditor: CreditorFile


@dataclass(slots=True)
class Debit:
    """One debit instruction: take ``amount_minor`` from ``account`` under a mandate."""

    end_to_end_id: str
    amount_minor: int
    currency: str
    name: str
    account: str
    bank: str | None
    mandate_id: str
    mandate_date: date | None
    collection_date: date
    sequence: str = "RCUR"
    remittance: str | None = None
    payer_id: str | None = None
    payment_id: str | None = None
    retry_of: str | None = None


@dataclass(frozen=True, slots=True)
class BatchSpan:
    """One batch (PmtInf) of a planned file: ``count`` debits of one group from ``start``."""

    group: int
    start: int
    count: int
    sum_minor: int
    collection_date: date
    sequence: str


@dataclass(slots=True)
class FileTotals:
    """Counts and sums, kept in integer minor units."""

    count: int = 0
    sum_minor: int = 0
    batches: list[tuple[str, int, int]] = field(default_factory=list)  # (id, count, sum)

    def add(self, amount_minor: int) -> None:
        """Count one debit."""
        self.count += 1
        self.sum_minor += amount_minor


@dataclass(frozen=True, slots=True)
class RequestFile:
    """A request file as written: where, its ids, totals and content hash."""

    path: str
    format: str
    msg_id: str
    created_at: datetime
    count: int
    sum_minor: int
    currency: str
    sha256: str
    batches: tuple[tuple[str, int, int], ...]
