"""The MIS-POS driver's errors: a profile that cannot be used, and bytes that do not parse.

``ProfileError`` is a ``ConfigurationError`` whose message starts with ``file:line:``, so a
field engineer goes straight to the mistake. ``MisposFormatError`` is the one protocol error
decoders raise (a bad frame, tag, length or field), naming the field and the offset.
"""

from __future__ import annotations

from paychannels.values.errors import ConfigurationError, ProtocolError

__all__ = ["MisposFormatError", "ProfileError"]


class ProfileError(ConfigurationError):
    """A profile with a mistake; ``where`` is ``file:line``."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where


class MisposFormatError(ProtocolError):
    """Bytes that do not follow the profile: a frame, tag, length or field value."""

    def __init__(self, message: str, *, field: str | None = None, offset: int | None = None):
        where = f" (field {field})" if field else ""
        at = f" (at byte {offset})" if offset is not None else ""
        super().__init__(message + where + at)
        self.field = field
        self.offset = offset
