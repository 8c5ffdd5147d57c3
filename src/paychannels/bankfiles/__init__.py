"""Bank batch-debit files: ISO 20022 pain.008 requests, pain.002 / camt.054 results, and
Chinese banks' batch-deduction text files described declaratively (TOML layouts).

Writers and readers stream (constant memory at any size). Every value is checked against the
schema's rules as it is written; readers are all-or-nothing: a bad file raises
``BankFileError`` naming the file and the position (line, element or field).
"""

from __future__ import annotations

from paychannels.bankfiles.errors import BankFileError, UnknownBatch
from paychannels.bankfiles.model import Creditor, Debit, FileTotals, RequestFile

__all__ = ["BankFileError", "Creditor", "Debit", "FileTotals", "RequestFile", "UnknownBatch"]
