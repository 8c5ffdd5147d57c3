"""The nexo driver's errors: one protocol error for anything malformed, naming where.

Every decoder raises only ``NexoFormatError`` (a ``ProtocolError``) on bad input, with the
JSON path of the field at fault (``SaleToPOIResponse.PaymentResponse.Response.Result``), so
garbage from a cloud or a terminal never escapes as a pydantic or json exception.
"""

from __future__ import annotations

from paychannels.values.errors import ProtocolError

__all__ = ["NexoFormatError"]


class NexoFormatError(ProtocolError):
    """A body that is not a nexo message we can read: bad JSON, a missing or wrong field."""

    def __init__(self, message: str, *, where: str = "") -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where
