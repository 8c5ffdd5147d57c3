"""nexo Sale-to-POI (the Terminal API of cloud-connected terminals) and ``CloudPosChannel``.

Layers, from the wire up: ``wire`` (exact JSON: decimals, no duplicate keys), the message
models ``fields``/``header``/``common``/``bodies`` and ``envelope`` (whole messages, header
rules), ``additional`` (key=value texts), ``reasons`` and ``outcomes`` (what a response
means), ``serviceids`` (unique, recoverable ServiceIDs), ``build`` (requests from records),
``cloud`` (HTTP to ``/sync`` and ``/async``), ``inquiry`` (direct and status answers),
``notifications`` (signed event notifications), ``channel`` and ``factory``. Facts and
sources: ../shared/reference/terminals.md §5-6; usage: docs/channels/nexo.md.
"""

from __future__ import annotations

from paychannels.drivers.nexo.channel import CloudPosChannel, NexoSettings, ReversalRefused
from paychannels.drivers.nexo.cloud import Cloud, CloudNoAnswer, CloudRefused, Timeouts
from paychannels.drivers.nexo.envelope import (
    SaleToPOIRequest,
    SaleToPOIResponse,
    decode_reply,
    decode_request,
    encode,
)
from paychannels.drivers.nexo.errors import NexoFormatError
from paychannels.drivers.nexo.factory import from_url

__all__ = [
    "Cloud",
    "CloudNoAnswer",
    "CloudPosChannel",
    "CloudRefused",
    "NexoFormatError",
    "NexoSettings",
    "ReversalRefused",
    "SaleToPOIRequest",
    "SaleToPOIResponse",
    "Timeouts",
    "decode_reply",
    "decode_request",
    "encode",
    "from_url",
]
