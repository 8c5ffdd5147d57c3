"""The exchange folder shared with a bank (an SFTP mount, a bank client's folder).

``outbox/`` request files for the bank, ``inbox/`` its result files; our own ``spool/``
(debits waiting for the next file), ``archive/`` (what each sent file held), ``processed/``
(result files applied) and ``quarantine/`` (result files refused, each with a
``.reason.txt``). Files appear in the outbox atomically: written under a dot-name, flushed to
disk, then renamed, so the bank never picks up half a file.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from paychannels.runtime.durable import fsync_path
from paychannels.values.errors import NotSentError

__all__ = ["Exchange"]

_FOLDERS = ("outbox", "inbox", "spool", "archive", "processed", "quarantine")


class Exchange:
    """Paths and file moves of one exchange folder; created (mode 0700) on first use."""

    def __init__(
        self, root: Path, *, outbox: Path | None = None, inbox: Path | None = None
    ) -> None:
        self.root = root
        self.outbox = outbox or root / "outbox"
        self.inbox = inbox or root / "inbox"
        self.spool = root / "spool"
        self.archive = root / "archive"
        self.processed = root / "processed"
        self.quarantine = root / "quarantine"

    def ensure(self) -> None:
        """Create the folders; ``NotSentError`` when that is impossible (nothing was sent)."""
        try:
            for folder in (
                self.outbox,
                self.inbox,
                self.spool,
                self.archive,
                self.processed,
                self.quarantine,
            ):
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise NotSentError(
                f"exchange folder {self.root} is not usable: {exc.strerror or exc}"
            ) from exc

    def temp_for(self, name: str) -> Path:
        """Where a file for the outbox is written before it appears."""
        return self.outbox / f".{name}.part"

    def publish(self, temp: Path, name: str) -> Path:
        """Make a fully written file appear in the outbox under ``name``, durably."""
        with open(temp, "rb+") as fh:
            os.fsync(fh.fileno())
        final = self.outbox / name
        os.replace(temp, final)
        fsync_path(self.outbox)
        return final

    def results(self) -> Iterator[Path]:
        """Result files waiting in the inbox, oldest name first (hidden and partial skipped)."""
        if not self.inbox.is_dir():
            return
        for path in sorted(self.inbox.iterdir()):
            if path.is_file() and not path.name.startswith(".") and not path.name.endswith(".part"):
                yield path

    def quarantined(self) -> int:
        """How many refused result files wait in ``quarantine/`` (reason files not counted)."""
        if not self.quarantine.is_dir():
            return 0
        return sum(
            1
            for path in self.quarantine.iterdir()
            if path.is_file() and not path.name.endswith(".reason.txt")
        )

    def move(self, path: Path, folder: Path, *, reason: str | None = None) -> Path:
        """Move a file into ``folder`` (never overwriting), with a reason file if given."""
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        target = folder / path.name
        n = 1
        while target.exists():
            n += 1
            target = folder / f"{path.stem}.{n}{path.suffix}"
        os.replace(path, target)
        if reason is not None:
            (folder / f"{target.name}.reason.txt").write_text(reason + "\n", encoding="utf-8")
        with contextlib.suppress(OSError):
            fsync_path(folder)
        return target
