"""End-of-day totals as settlement figures, also from terminals that send no BMP 60."""

from __future__ import annotations

from paychannels import Collector, Money
from paychannels.channels.memory import MemoryChannel
from paychannels.drivers.zvt.totals import DayTotals, day_settlement, remember_last_receipt


def test_without_individual_totals_the_batch_runs_from_the_previous_day() -> None:
    with Collector.open("sqlite:///:memory:", create=True) as col:
        col.add_channel("hall-1", MemoryChannel())
        ctx = col.channel_context("hall-1")
        bare = DayTotals(Money("120.00", "CNY"))
        first = day_settlement(bare, ctx, last_known=42)
        assert first.receipts == (1, 42)
        assert (first.net_minor, first.payments, first.gross_minor) == (12000, None, None)
        remember_last_receipt(ctx, first)
        second = day_settlement(bare, ctx, last_known=50)
        assert second.receipts == (43, 50)
        remember_last_receipt(ctx, second)
        wrapped = day_settlement(bare, ctx, last_known=3)
        assert wrapped.receipts == (51, 3)  # reconciliation reads a range that wraps at 9999
        unknown = day_settlement(DayTotals(None), ctx, last_known=None)
        assert unknown.receipts is None and unknown.net_minor == 0
        assert unknown.detail["total_reported"] is False


def test_a_saturated_card_group_count_is_not_believed() -> None:
    with Collector.open("sqlite:///:memory:", create=True) as col:
        col.add_channel("hall-1", MemoryChannel())
        totals = DayTotals(
            Money("3000.00", "CNY"),
            count=255,
            first_receipt=1,
            last_receipt=300,
            by_card={"other": (255, Money("3000.00", "CNY"))},
        )
        day = day_settlement(totals, col.channel_context("hall-1"), last_known=300)
        assert day.payments is None and day.gross_minor == 300000 and day.receipts == (1, 300)
