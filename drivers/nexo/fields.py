"""The field types nexo messages are made of, and the base every message model shares.

Models are frozen pydantic models whose attribute names are the wire names exactly
(``MessageHeader``, ``POIID``, ``ServiceID``), so what the Terminal API documentation shows is
what the code says. Unknown members are kept (``extra="allow"``): a terminal or a cloud may
send more than we model, and a message read and written again keeps it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

__all__ = [
    "Amount",
    "CurrencyCode",
    "Ident",
    "NexoModel",
    "ServiceId",
    "Text",
    "TimeStamp",
    "dump",
]


class NexoModel(BaseModel):
    """Base of every nexo message part: wire names, frozen, unknown members kept."""

    model_config = ConfigDict(frozen=True, extra="allow", validate_default=False)


def _iso(value: str) -> str:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("must be an ISO 8601 date and time") from None
    return value


#: 1-10 visible characters, unique per terminal within 48 hours (terminals.md §5)
ServiceId = Annotated[str, StringConstraints(pattern=r"^[\x21-\x7e]{1,10}$")]
#: SaleID, POIID, DeviceID: visible characters
Ident = Annotated[str, StringConstraints(pattern=r"^[\x21-\x7e]{1,64}$")]
Text = Annotated[str, StringConstraints(max_length=4096)]
TimeStamp = Annotated[str, StringConstraints(max_length=40), AfterValidator(_iso)]
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
#: major units as written (``380.00``); never a float
Amount = Annotated[Decimal, Field(ge=0, le=Decimal("99999999999999"), allow_inf_nan=False)]


def dump(model: BaseModel) -> dict[str, Any]:
    """The wire form of a model: absent members left out, amounts still ``Decimal``."""
    return model.model_dump(mode="python", exclude_none=True)
