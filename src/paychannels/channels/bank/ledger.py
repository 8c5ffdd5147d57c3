"""The channel's ledger of files, kept in the journal's channel state (shared by processes).

``file:<msg id>``: a request file we published (name, SHA-256, totals, batches, where its
debits are archived); ``sha:<hash>``: which message a file's bytes belong to, so the same
file is never published twice; ``result:<hash>``: a result file already applied, so applying
it again is refused; ``flush:<token>``: the plan of a flush, so one a crash interrupted
resumes with the same ids and bytes.
"""

from __future__ import annotations

from typing import Any, cast

from pydantic import JsonValue

from paychannels.channels.base import ChannelContext
from paychannels.values.errors import ChannelError

__all__ = ["DuplicateFile", "Ledger"]


class DuplicateFile(ChannelError):
    """A request file whose bytes or message id were already sent: refused, nothing sent."""


class Ledger:
    """Typed access to the ledger entries through a ``ChannelContext``."""

    def __init__(self, ctx: ChannelContext) -> None:
        self.ctx = ctx

    def get(self, key: str) -> dict[str, Any] | None:
        """An entry, or None."""
        entry = self.ctx.state_get(key)
        return None if entry is None else cast("dict[str, Any]", entry.value)

    def put(self, key: str, value: dict[str, Any]) -> None:
        """Write an entry (last writer wins; callers hold the exchange lock)."""
        for _ in range(10):
            entry = self.ctx.state_get(key)
            version = 0 if entry is None else entry.version
            if self.ctx.state_put(key, cast("JsonValue", value), expected_version=version):
                return
        raise ChannelError(f"ledger entry {key} kept changing under us")

    def number(self, key: str) -> int:
        """The next value of a persistent counter."""
        return self.ctx.next_number(key)

    def sent(self, msg_id: str) -> dict[str, Any] | None:
        """The entry of a request file we published."""
        return self.get(f"file:{msg_id}")

    def record_sent(self, entry: dict[str, Any]) -> None:
        """Record a request file before it appears in the outbox; refuse a resubmission."""
        msg_id, sha = entry["msg_id"], entry["sha256"]
        owner = self.get(f"sha:{sha}")
        if owner is not None and owner.get("msg_id") != msg_id:
            raise DuplicateFile(
                f"these bytes were already sent as {owner.get('msg_id')} "
                f"({owner.get('name')}); refusing to send them again"
            )
        known = self.sent(msg_id)
        if known is not None and known.get("sha256") != sha:
            raise DuplicateFile(f"message id {msg_id} was already used for another file")
        self.put(f"sha:{sha}", {"msg_id": msg_id, "name": entry["name"]})
        self.put(f"file:{msg_id}", entry)

    def result(self, sha: str) -> dict[str, Any] | None:
        """The record of a result file already applied."""
        return self.get(f"result:{sha}")

    def record_result(self, sha: str, info: dict[str, Any]) -> None:
        """Remember that a result file was applied."""
        self.put(f"result:{sha}", info)
