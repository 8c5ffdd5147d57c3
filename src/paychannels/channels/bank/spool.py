"""Debits waiting for the next request file, one append-only JSON-lines file per group.

``start_batch`` appends its debits here (flushed to disk before it reports PENDING) and
``poll`` cuts them into files, so a file gathers every debit of a collection date however
many calls brought them. A group is a collection date and sequence type. A cancel appends a
``{"x": end_to_end_id}`` line. A line torn by a crash (no newline) is ignored by readers and
cut off by the next append; the payments in it were never reported as sent.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from paychannels.bankfiles.errors import BankFileError
from paychannels.bankfiles.model import Debit

__all__ = ["Spool", "SpoolGroup", "cancelled", "debits", "debits_from", "from_line", "to_line"]

_CANCEL = b'{"x":'
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SpoolGroup:
    """One spool file: a collection date and sequence type."""

    collection_date: date
    sequence: str

    @property
    def name(self) -> str:
        """The spool file's name."""
        return f"{self.collection_date.isoformat()}_{self.sequence}.jsonl"


def to_line(d: Debit) -> bytes:
    """A debit as one spool line."""
    data: dict[str, Any] = {
        "e": d.end_to_end_id,
        "p": d.payment_id,
        "a": d.amount_minor,
        "c": d.currency,
        "n": d.name,
        "ac": d.account,
        "b": d.bank,
        "m": d.mandate_id,
        "md": d.mandate_date.isoformat() if d.mandate_date else None,
        "d": d.collection_date.isoformat(),
        "s": d.sequence,
        "r": d.remittance,
        "i": d.payer_id,
        "rt": d.retry_of,
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def from_line(data: dict[str, Any]) -> Debit:
    """A spool line back as a debit."""
    return Debit(
        end_to_end_id=data["e"],
        amount_minor=int(data["a"]),
        currency=data["c"],
        name=data["n"],
        account=data["ac"],
        bank=data["b"],
        mandate_id=data["m"],
        mandate_date=date.fromisoformat(data["md"]) if data["md"] else None,
        collection_date=date.fromisoformat(data["d"]),
        sequence=data["s"],
        remittance=data["r"],
        payer_id=data["i"],
        payment_id=data["p"],
        retry_of=data["rt"],
    )


def records(path: Path) -> Iterator[dict[str, Any]]:
    """Every complete line of a spool file (debits and cancels), in order."""
    with open(path, "rb") as fh:
        for raw in fh:
            if raw.endswith(b"\n"):
                yield json.loads(raw)


def debits(path: Path) -> Iterator[Debit]:
    """The debits of a spool file that were not cancelled, in order (two passes)."""
    for _at, debit in debits_from(path, 0, cancelled(path)):
        yield debit


def cancelled(path: Path) -> set[str]:
    """The end-to-end ids a spool file's cancel lines withdraw (only those lines parsed)."""
    out: set[str] = set()
    with open(path, "rb") as fh:
        at = 0
        for raw in fh:
            start, at = at, at + len(raw)
            if raw.startswith(_CANCEL) and raw.endswith(b"\n"):
                out.add(_parsed(path, start, raw, lambda record: str(record["x"])))
    return out


def _parsed(path: Path, at: int, raw: bytes, read: Callable[[Any], T]) -> T:
    """``read`` of one spool line's JSON; a line that is not what we wrote (a disk fault,
    a hand edit) is a ``BankFileError`` naming the file and the line's byte offset."""
    try:
        return read(json.loads(raw))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BankFileError(
            path.name, f"not a spool line ({type(exc).__name__})", where=f"byte {at}"
        ) from None


def debits_from(path: Path, offset: int, skip: Collection[str]) -> Iterator[tuple[int, Debit]]:
    """Each debit from byte ``offset`` on, with the offset of its line; those in ``skip``
    (withdrawn) and cancel lines left out. A request file's debits start where its plan
    says, so no file reads the spool from the start."""
    with open(path, "rb") as fh:
        fh.seek(offset)
        at = offset
        for raw in fh:
            start, at = at, at + len(raw)
            if not raw.endswith(b"\n") or raw.startswith(_CANCEL):
                continue
            debit = _parsed(path, start, raw, from_line)
            if debit.end_to_end_id not in skip:
                yield start, debit


class Spool:
    """The spool folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def append(self, group: SpoolGroup, lines: Iterable[bytes]) -> None:
        """Append lines durably (the caller holds the exchange lock)."""
        path = self.folder / group.name
        with open(path, "ab+") as fh:
            size = fh.seek(0, os.SEEK_END)
            if not size:
                os.fchmod(fh.fileno(), 0o600)  # accounts and ID numbers: ours to read only
            if size:
                fh.seek(size - 1)
                if fh.read(1) != b"\n":  # a torn line from a crash: cut it off
                    fh.seek(0)
                    data = fh.read()
                    fh.truncate(data.rfind(b"\n") + 1)
                    fh.seek(0, os.SEEK_END)
            fh.write(b"".join(lines))
            fh.flush()
            os.fsync(fh.fileno())

    def groups(self) -> list[tuple[SpoolGroup, Path]]:
        """Spool files waiting to be cut into request files."""
        out = []
        for path in sorted(self.folder.glob("*.jsonl")):
            day, _, seq = path.stem.partition("_")
            out.append((SpoolGroup(date.fromisoformat(day), seq), path))
        return out

    def flushing(self) -> list[Path]:
        """Spool files taken for a flush that a crash interrupted."""
        return sorted(self.folder.glob("*.flushing"))
