"""Errors of bank files: always naming the file and where in it (line, element or field)."""

from __future__ import annotations

from pathlib import Path

from paychannels.values.errors import ProtocolError

__all__ = ["BankFileError", "UnknownBatch"]


class BankFileError(ProtocolError):
    """A bank file that cannot be written or read as it stands; nothing was taken from it.

    ``file`` is the file's name, ``line`` the 1-based line (0 when unknown) and ``where`` the
    element path or field name, so a person can open the file at the right place.
    """

    def __init__(self, file: str | Path, message: str, *, line: int = 0, where: str = "") -> None:
        self.file = Path(file).name if str(file) else "<stream>"
        self.line = line
        self.where = where
        self.problem = message
        place = f"line {line}" if line else ""
        if where:
            place = f"{place} ({where})" if place else where
        super().__init__(f"{self.file}{' ' + place if place else ''}: {message}")


class UnknownBatch(BankFileError):
    """A result file for a request file this channel never sent (quarantined, not applied)."""
