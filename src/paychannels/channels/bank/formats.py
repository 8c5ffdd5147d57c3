"""The request-file formats a bank channel can write: pain.008 versions and text layouts.

One interface for both families, so the flush code does not care which: the file name for
a message id, the limits (a text layout is one batch per file), writing, and re-reading our
own file to recount its totals after it is written.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from paychannels.bankfiles import cnbatch, pain008
from paychannels.bankfiles.checks import ValueProblem
from paychannels.bankfiles.errors import BankFileError
from paychannels.bankfiles.layout import Layout, available_layouts, load_layout
from paychannels.bankfiles.model import BatchSpan, Creditor, Debit, FileTotals
from paychannels.bankfiles.split import Limits
from paychannels.bankfiles.textfile import LineWriter
from paychannels.bankfiles.validate import check_totals
from paychannels.values.errors import ConfigurationError

__all__ = ["Format", "open_format"]


@dataclass(frozen=True, slots=True)
class Format:
    """A request-file format: ``pain.008.001.08``, ``pain.008.001.02`` or a layout."""

    name: str
    layout: Layout | None = None
    profile: str = "iso"

    def file_name(self, msg_id: str) -> str:
        """The request file's name."""
        if self.layout is None:
            return f"{msg_id}.xml"
        return self.layout.file_name.format(msg_id=msg_id)

    def limits(self, base: Limits) -> Limits:
        """The bank's limits, tightened by what the format itself allows."""
        if self.layout is None:
            return base
        rows = self.layout.rows_per_file
        if base.rows_per_file:
            rows = min(rows, base.rows_per_file) if rows else base.rows_per_file
        return replace(base, rows_per_file=rows, batches_per_file=1, rows_per_batch=rows)

    def write(
        self,
        path: Path,
        *,
        creditor: Creditor,
        msg_id: str,
        created_at: datetime,
        batches: Sequence[BatchSpan],
        debits: Iterable[Debit],
    ) -> tuple[FileTotals, str]:
        """Write the file; totals as written and the SHA-256 of its bytes."""
        if self.layout is None:
            return pain008.write_file(
                path,
                format=self.name,
                creditor=creditor,
                msg_id=msg_id,
                created_at=created_at,
                batches=batches,
                debits=debits,
                profile=self.profile,
            )
        if len(batches) != 1:
            raise BankFileError(path, f"a {self.name} file holds one batch, not {len(batches)}")
        return cnbatch.write_request(
            path,
            self.layout,
            creditor=creditor,
            msg_id=msg_id,
            created_at=created_at,
            batch=batches[0],
            debits=debits,
        )

    def check(self, debit: Debit, creditor: Creditor) -> str | None:
        """What would stop this debit from being written in this format, or None."""
        if self.layout is None:
            writer = _probe(self.name, self.profile, creditor)
            span = BatchSpan(0, 0, 1, debit.amount_minor, debit.collection_date, debit.sequence)
            try:
                writer.check_debit(debit, span, creditor.currency)
            except ValueProblem as exc:
                return str(exc)
            return None
        lines = LineWriter(io.BytesIO(), self.layout, self.layout.request, name="check")
        try:
            lines.write("detail", cnbatch.request_values(1, debit))
        except BankFileError as exc:
            return f"{exc.where}: {exc.problem.removeprefix('cannot write: ')}"
        if debit.currency != self.layout.currency:
            return f"the layout takes {self.layout.currency}, not {debit.currency}"
        return None

    def recount(self, path: Path) -> tuple[int, int]:
        """Count and sum of our own file, read back from disk (and checked against its
        header or totals line)."""
        if self.layout is None:
            totals = check_totals(path)
            return totals.count, totals.sum_minor
        count = total = 0
        for kind, _line, values in cnbatch.read_request(path, self.layout):
            if kind == "detail":
                count += 1
                total += values["amount"]
        return count, total


@lru_cache(maxsize=16)
def _probe(name: str, profile: str, creditor: Creditor) -> pain008.Pain008Writer:
    return pain008.Pain008Writer(
        io.BytesIO(), name="check", format=name, creditor=creditor, profile=profile
    )


def open_format(name: str, *, profile: str = "iso") -> Format:
    """The format named in a channel URL (``format=``)."""
    if name in pain008.FORMATS:
        return Format(name, None, profile)
    if name in available_layouts() or name.endswith(".toml"):
        return Format(
            load_layout(name).name if not name.endswith(".toml") else name, load_layout(name)
        )
    known = ", ".join([*pain008.FORMATS, *available_layouts()])
    raise ConfigurationError(f"unknown bank file format {name!r}; known: {known} or a layout .toml")
