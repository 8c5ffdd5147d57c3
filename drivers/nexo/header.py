"""``MessageHeader`` and ``MessageReference``: who speaks to whom, about which exchange.

A header names the message (class, category, type), the sale system (``SaleID``), the
terminal (``POIID``) and the exchange (``ServiceID``: 1-10 characters, unique per terminal
within 48 hours). A response repeats its request's header values; a reference points at an
earlier request (to abort it or to ask what became of it).
"""

from __future__ import annotations

from typing import Literal

from paychannels.drivers.nexo.fields import Ident, NexoModel, ServiceId

__all__ = ["CATEGORIES", "MessageHeader", "MessageReference"]

#: the categories this driver speaks, by the body each one carries
CATEGORIES: dict[str, str] = {
    "Payment": "Payment",
    "Reversal": "Reversal",
    "Abort": "Abort",
    "TransactionStatus": "TransactionStatus",
    "Diagnosis": "Diagnosis",
    "Event": "EventNotification",
}


class MessageHeader(NexoModel):
    """The header every nexo message starts with."""

    ProtocolVersion: str | None = None
    MessageClass: Literal["Service", "Device", "Event"]
    MessageCategory: str
    MessageType: Literal["Request", "Response", "Notification"]
    ServiceID: ServiceId | None = None
    SaleID: Ident | None = None
    POIID: Ident
    DeviceID: Ident | None = None

    def answers(self, request: MessageHeader) -> bool:
        """Whether this response header belongs to ``request`` (same ids and category)."""
        return (
            self.MessageType == "Response"
            and self.MessageCategory == request.MessageCategory
            and self.ServiceID == request.ServiceID
            and self.SaleID == request.SaleID
            and self.POIID == request.POIID
        )

    def reference(self) -> MessageReference:
        """A reference to the request this header opened (for abort and status)."""
        return MessageReference(
            MessageCategory=self.MessageCategory,
            SaleID=self.SaleID,
            ServiceID=self.ServiceID,
            POIID=self.POIID,
        )


class MessageReference(NexoModel):
    """Identifies an earlier request by its header values."""

    MessageCategory: str | None = None
    SaleID: Ident | None = None
    ServiceID: ServiceId | None = None
    POIID: Ident | None = None
    DeviceID: Ident | None = None
