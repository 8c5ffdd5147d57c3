"""A MIS-POS settlement (结算) answer as the terminal's settlement figures for its batch.

The answer names the batch it closed and its total in minor units (fen): the batch's net,
payments less refunds (voided payments are gone from the batch). The figures are kept in the
journal under the batch number, so ``paychannels reconcile`` finds the batch's payments by the
batch in their ``channel_ref`` (``terminal/batch/trace``) and compares the money.
"""

from __future__ import annotations

from paychannels.channels.base import ChannelContext
from paychannels.channels.settlement import Settlement, SettlementKind
from paychannels.drivers.mispos.codec import Fields
from paychannels.drivers.mispos.errors import MisposFormatError
from paychannels.runtime.clock import BEIJING

__all__ = ["batch_settlement"]


def batch_settlement(fields: Fields, ctx: ChannelContext, currency: str) -> Settlement:
    """The figures of a settlement answer; ``MisposFormatError`` naming the field when the
    answer has no batch number or no total in fen."""
    batch, total = fields.get("batch"), fields.get("amount")
    if not batch or not batch.isdigit():
        raise MisposFormatError("the settlement answer names no batch number", field="batch")
    if not total or not total.isdigit():
        raise MisposFormatError("the settlement answer has no total in fen", field="amount")
    now = ctx.clock.now()
    terminal = fields.get("terminal_id") or ""
    return Settlement(
        kind=SettlementKind.TERMINAL,
        key=batch,
        source=(
            f"MIS-POS settlement of batch {batch} "
            f"{now.astimezone(BEIJING):%Y-%m-%d %H:%M:%S} (UTC+8)"
        ),
        currency=currency,
        recorded_at=now,
        net_minor=int(total),
        batch=batch,
        detail={"terminal_id": terminal} if terminal else {},
    )
