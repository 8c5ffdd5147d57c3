"""The ZVT driver's errors: one protocol error for anything malformed, typed dialogue failures.

Every decoder raises only ``ZvtProtocolError`` (a ``ProtocolError``) on bad input, naming
the field and the offset. Dialogue failures say what the caller must do: a refusal or a
rejected frame is provably not executed (``NotSentError``: retry is safe); a missing
acknowledgement, an expired T4 or a broken link after the command left is
``OutcomeUnknownError`` (ask the terminal before anything else).
"""

from __future__ import annotations

from paychannels.drivers.framing import FrameRejected, NoAcknowledgement
from paychannels.values.errors import NotSentError, OutcomeUnknownError, ProtocolError

__all__ = [
    "CommandRefused",
    "DialogueBroken",
    "DialogueTimeout",
    "FrameRejected",
    "NoAcknowledgement",
    "ZvtProtocolError",
]


class ZvtProtocolError(ProtocolError):
    """Bytes that do not follow ZVT: a bad frame, length, BCD digit, BMP or TLV."""

    def __init__(
        self, message: str, *, offset: int | None = None, field: str | None = None
    ) -> None:
        where = f" (at byte {offset})" if offset is not None else ""
        super().__init__(message + where)
        self.offset = offset
        self.field = field


class CommandRefused(NotSentError):
    """The terminal answered the command with ``84 xx``: it did not execute it."""

    def __init__(self, code: int, text: str, command: str) -> None:
        super().__init__(f"the terminal refused {command} with 84 {code:02X} ({text}); nothing ran")
        self.code = code
        self.text = text


# FrameRejected (every transmission NAKed: nothing ran) and NoAcknowledgement (no ACK within
# T2, no 80 00 within T3: it may have arrived) are the shared framing errors.


class DialogueTimeout(OutcomeUnknownError):
    """T4 ran out: the terminal went quiet after accepting the command."""


class DialogueBroken(OutcomeUnknownError):
    """The link failed after the command left (peer closed, unplugged, malformed answer)."""
